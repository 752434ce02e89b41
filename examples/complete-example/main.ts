/**
 * Runs the Complete Example against a running Gatehouse:
 *
 *   GATEHOUSE_ALLOW_PRIVATE_NETWORK=true npm start            # in one terminal; note the API key
 *   GATEHOUSE_API_KEY=ghk_... npm run example                  # in another
 *
 * The providers are local stand-ins (open the printed URLs in your browser and log in with any
 * name). Claude is a local stub of the Messages API unless ANTHROPIC_API_KEY is set, in which case
 * the real API answers (model from ANTHROPIC_MODEL, default claude-sonnet-4-5).
 */
import Anthropic from '@anthropic-ai/sdk';
import { Gatehouse } from '@gatehouse/sdk';
import { callEachToolOnceThenSummarize, startAnthropicStub } from '../../test/support/anthropic-stub.js';
import { completeExample } from './complete-example.js';
import { startLocalProviders } from './local-providers.js';

if (!process.env.GATEHOUSE_API_KEY) {
  console.error(
    'This example talks to a running Gatehouse. Start one in another terminal and pass its API key:\n\n' +
      '  GATEHOUSE_ALLOW_PRIVATE_NETWORK=true npm start     # prints the API key once\n' +
      '  GATEHOUSE_API_KEY=ghk_... npm run example\n',
  );
  process.exit(1);
}

const gatehouse = new Gatehouse({
  apiKey: process.env.GATEHOUSE_API_KEY,
  baseUrl: process.env.GATEHOUSE_BASE_URL ?? 'http://127.0.0.1:4310',
});
const local = await startLocalProviders(gatehouse, `-${Date.now().toString(36)}`);
const stub = process.env.ANTHROPIC_API_KEY ? undefined : await startAnthropicStub(callEachToolOnceThenSummarize([/whoami/]));
const anthropic = stub ? new Anthropic({ apiKey: 'offline', baseURL: stub.url }) : new Anthropic();
console.log(stub ? 'Claude: local stub of the Messages API (set ANTHROPIC_API_KEY for the real one)' : 'Claude: the real Anthropic API');

try {
  const { answer } = await completeExample({
    gatehouse,
    anthropic,
    model: process.env.ANTHROPIC_MODEL ?? 'claude-sonnet-4-5',
    providers: local.providers,
    prompt: 'Who am I on GitHub, on Slack and on Exa? Use the whoami tools of each.',
    sendToUser: (url) => console.log(`  Open this in your browser and log in with any name:\n  ${url}\n`),
  });
  console.log(`\nClaude:\n${answer}`);
} finally {
  await stub?.close();
  await local.close();
}
