import { StdioClientTransport, type StdioServerParameters } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ReadBuffer } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { MessageSizeGuard, type JsonRpcIdText } from './message-size-guard.js';
import { TOOL_CALL_META_KEY } from './observed-fetch.js';

/** What the capped stdio transport reports. */
export interface CappedStdioEvents {
  /** A `tools/call` went to the child with this JSON-RPC id (JSON form) for this tool call. */
  onCall(rpcId: JsonRpcIdText, toolCallId: string): void;
  /** A line of the child's stdout over the cap was dropped; `rpcId` is the request it answered, if found. */
  onOversized(rpcId: JsonRpcIdText | null): void;
}

/** The part of the SDK's stdout buffer that the transport uses. */
interface StdoutBuffer {
  append(chunk: Buffer): void;
  readMessage(): JSONRPCMessage | null;
  clear(): void;
}

/** The SDK's stdout buffer behind a {@link MessageSizeGuard}: only lines within the cap reach it. */
class GuardedReadBuffer implements StdoutBuffer {
  private readonly inner = new ReadBuffer({ maxBufferSize: Number.MAX_SAFE_INTEGER });
  constructor(private readonly guard: MessageSizeGuard) {}

  append(chunk: Buffer): void {
    for (const part of this.guard.push(chunk)) this.inner.append(Buffer.from(part.buffer, part.byteOffset, part.byteLength));
  }

  readMessage(): JSONRPCMessage | null {
    return this.inner.readMessage();
  }

  clear(): void {
    this.guard.flush();
    this.inner.clear();
  }
}

/**
 * The MCP SDK's stdio client transport with each line of the child's stdout (one JSON-RPC message)
 * capped at `maxMessageBytes`, counted in bytes as they arrive: a larger answer is dropped without
 * being buffered and reported, so only its call fails. A line that never ends kills the child (the
 * pool starts a new one for the next call).
 */
export class CappedStdioClientTransport extends StdioClientTransport {
  /**
   * @param server - the command, its arguments and environment
   * @param maxMessageBytes - the cap of one message
   * @param events - where calls and oversized answers are reported
   */
  constructor(
    server: StdioServerParameters,
    maxMessageBytes: number,
    private readonly events: CappedStdioEvents,
  ) {
    super(server);
    const guard = new MessageSizeGuard(maxMessageBytes, 'line', {
      onOversized: (rpcId) => events.onOversized(rpcId),
      onRunaway: () => {
        this.onerror?.(new Error(`the tool server wrote a message longer than ${maxMessageBytes} bytes`));
        void this.close().catch(() => {});
      },
    });
    // The SDK reads stdout through this buffer; it has no option to cap one message short of killing the child.
    const self = this as unknown as { _readBuffer?: StdoutBuffer };
    if (!self._readBuffer || typeof self._readBuffer.append !== 'function') {
      throw new Error('the MCP SDK stdio transport changed: its read buffer cannot be capped');
    }
    self._readBuffer = new GuardedReadBuffer(guard);
  }

  /** Sends `message`, noting the JSON-RPC id of a tagged `tools/call`. */
  override send(message: JSONRPCMessage): Promise<void> {
    if ('method' in message && message.method === 'tools/call' && 'id' in message) {
      const toolCallId = (message.params?._meta as Record<string, unknown> | undefined)?.[TOOL_CALL_META_KEY];
      if (typeof toolCallId === 'string') this.events.onCall(JSON.stringify(message.id), toolCallId);
    }
    return super.send(message);
  }
}
