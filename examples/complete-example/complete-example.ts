/**
 * The seed's "Complete Example", with only the import lines, the class name and the ids changed,
 * over three providers at once ("Multiple OAuth Services"): the user authorizes GitHub and Slack,
 * then Claude uses GitHub, Slack and Exa tools in one agent loop, each acting for that user.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { gatehouseAnthropic } from '@gatehouse/anthropic';
import type { Gatehouse } from '@gatehouse/sdk';

/** Where the example's providers live in your Gatehouse project. */
export interface ExampleProviders {
  github: { providerId: string; deploymentId: string };
  slack: { providerId: string; deploymentId: string };
  /** A provider that needs no per-user authorization (Exa with the operator's key). */
  exa: { deploymentId: string };
}

/** What the example needs; everything else is the seed's code. */
export interface CompleteExampleOptions {
  gatehouse: Gatehouse;
  anthropic: Anthropic;
  model: string;
  providers: ExampleProviders;
  prompt: string;
  redirectUrl?: string;
  /** Step 2, "send URL to user": print it, e-mail it, or (in tests) open it in a browser. */
  sendToUser(url: string): void | Promise<void>;
}

/** Runs the example and returns Claude's final answer and the auth config ids it stored. */
export async function completeExample(options: CompleteExampleOptions) {
  const { gatehouse, anthropic, providers } = options;

  // 1. Create setup sessions (one per provider the user must authorize)
  const githubSetup = await gatehouse.providers.setupSessions.create({
    providerId: providers.github.providerId,
    providerAuthMethodId: 'oauth',
    redirectUrl: options.redirectUrl,
  });
  const slackSetup = await gatehouse.providers.setupSessions.create({
    providerId: providers.slack.providerId,
    providerAuthMethodId: 'oauth',
    redirectUrl: options.redirectUrl,
  });

  // 2. Send URL to user, and 3. wait for completion
  console.log('Please authorize:', githubSetup.url);
  const githubWait = gatehouse.waitForSetupSession([githubSetup]);
  await options.sendToUser(githubSetup.url);
  const completedGithub = await githubWait;

  console.log('Please authorize:', slackSetup.url);
  const slackWait = gatehouse.waitForSetupSession([slackSetup]);
  await options.sendToUser(slackSetup.url);
  const completedSlack = await slackWait;

  // 4. Store auth config ids for this user
  // database.save(userId, { github: completedGithub.authConfig.id, slack: completedSlack.authConfig.id })
  const githubAuthConfigId = completedGithub.authConfig!.id;
  const slackAuthConfigId = completedSlack.authConfig!.id;

  // 5. Use them in a session
  const answer = await gatehouse.withProviderSession(
    gatehouseAnthropic,
    {
      providers: [
        { providerDeploymentId: providers.github.deploymentId, providerAuthConfigId: githubAuthConfigId },
        { providerDeploymentId: providers.slack.deploymentId, providerAuthConfigId: slackAuthConfigId },
        { providerDeploymentId: providers.exa.deploymentId }, // No OAuth needed
      ],
    },
    async (session) => {
      // Your AI now has access to the user's GitHub and Slack, and to Exa
      const messages: Anthropic.MessageParam[] = [{ role: 'user', content: options.prompt }];
      for (let turn = 0; turn < 10; turn++) {
        const response = await anthropic.messages.create({ model: options.model, max_tokens: 1024, messages, tools: session.tools });
        messages.push({ role: 'assistant', content: response.content });
        if (response.stop_reason !== 'tool_use') {
          return response.content.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('\n');
        }
        messages.push(await session.callTools(response.content));
      }
      return 'The agent did not finish within 10 turns.';
    },
  );
  return { answer, githubAuthConfigId, slackAuthConfigId };
}
