/**
 * Caps the size of each JSON-RPC message on a stream that carries many of them: the legacy SSE event
 * stream (a message is an event, ended by an empty line) and a stdio tool server's stdout (a message
 * is a line). A message over the cap is never buffered whole: its bytes are dropped as they arrive,
 * and once it ends the guard reports the JSON-RPC id it answered, so only that call fails and the
 * stream (the connection every other call shares) goes on.
 */

/** A JSON-RPC id as it appears in a message (`7`, `"abc"`), in its JSON form. */
export type JsonRpcIdText = string;

/** What the guard reports. */
export interface MessageSizeGuardEvents {
  /** A message over the cap ended; `id` is the JSON form of the id it carried, or null when none was found. */
  onOversized(id: JsonRpcIdText | null): void;
  /** A single message went on far past the cap (an endless line): the stream should be dropped. */
  onRunaway(): void;
}

/** How far past the cap an oversized message may go, dropped unread, before the stream is given up. */
const RUNAWAY_FACTOR = 64;
/** Bytes kept of an oversized message's start and end, where its id is. */
const EDGE_BYTES = 512;
const LF = 0x0a;
const CR = 0x0d;

// The id of a response: first (`{"jsonrpc":"2.0","id":7,…`, most servers) or last (`…,"id":7}`, the MCP
// TypeScript SDK writes `{ result, jsonrpc, id }`). Inside a JSON string a quote is escaped, so an
// unescaped `"id":` is always a key.
const ID_VALUE = String.raw`(-?\d+|"(?:[^"\\]|\\.)*")`;
const ID_AT_START = new RegExp(String.raw`\{\s*"jsonrpc"\s*:\s*"2\.0"\s*,\s*"id"\s*:\s*${ID_VALUE}`);
const ID_AT_END = new RegExp(String.raw`"id"\s*:\s*${ID_VALUE}\s*\}\s*$`);

function idOf(head: Buffer, tail: Buffer): JsonRpcIdText | null {
  const start = ID_AT_START.exec(head.toString('utf8'));
  if (start?.[1]) return start[1];
  return ID_AT_END.exec(tail.toString('utf8').replace(/\s+$/, ''))?.[1] ?? null;
}

/**
 * Splits a byte stream into messages ('line': each line; 'event': SSE events) and passes on those within
 * `maxMessageBytes`, whole, dropping larger ones as they stream (see the file comment).
 */
export class MessageSizeGuard {
  private parts: Uint8Array[] = [];
  private size = 0;
  private lineLength = 0;
  /** The byte before the last one taken, and the last one: a CR before a LF belongs to the line ending. */
  private beforeLast = -1;
  private last = -1;
  private skipping = false;
  private head = Buffer.alloc(0);
  private tail = Buffer.alloc(0);

  /**
   * @param maxMessageBytes - the cap of one message, in bytes
   * @param mode - `line` (stdio) or `event` (SSE)
   * @param events - where oversized and runaway messages are reported
   */
  constructor(
    private readonly maxMessageBytes: number,
    private readonly mode: 'line' | 'event',
    private readonly events: MessageSizeGuardEvents,
  ) {}

  /** Takes the next chunk of the stream; returns the bytes to pass on (whole messages only). */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(LF, start);
      const end = newline === -1 ? chunk.length : newline + 1;
      this.take(chunk.subarray(start, end));
      if (newline !== -1) this.endLine(out);
      start = end;
    }
    return out;
  }

  /** The stream ended: whatever is left of an unfinished message (passed on as is, when within the cap). */
  flush(): Uint8Array[] {
    const rest = this.skipping ? [] : this.parts;
    this.reset();
    return rest;
  }

  private take(piece: Uint8Array): void {
    if (piece.length === 0) return;
    if (this.size < EDGE_BYTES) this.head = Buffer.concat([this.head, piece.subarray(0, EDGE_BYTES - this.size)]);
    this.size += piece.length;
    // The bytes of the current line, its LF included.
    this.lineLength += piece.length;
    this.beforeLast = piece.length > 1 ? piece[piece.length - 2]! : this.last;
    this.last = piece[piece.length - 1]!;
    if (!this.skipping && this.size > this.maxMessageBytes) {
      this.skipping = true;
      this.parts = [];
    }
    if (this.skipping) {
      this.tail = Buffer.concat([this.tail, piece]).subarray(-EDGE_BYTES);
      if (this.size > this.maxMessageBytes * RUNAWAY_FACTOR) {
        this.reset();
        this.events.onRunaway();
      }
    } else {
      this.parts.push(piece);
    }
  }

  private endLine(out: Uint8Array[]): void {
    // lineLength includes the LF; an empty line is just LF, or CR LF.
    const empty = this.lineLength === 1 || (this.lineLength === 2 && this.beforeLast === CR);
    this.lineLength = 0;
    if (this.mode === 'event' && !empty) return;
    if (this.skipping) {
      const id = idOf(this.head, this.tail);
      this.reset();
      this.events.onOversized(id);
      return;
    }
    out.push(...this.parts);
    this.reset();
  }

  private reset(): void {
    this.parts = [];
    this.size = 0;
    this.skipping = false;
    this.head = Buffer.alloc(0);
    this.tail = Buffer.alloc(0);
  }
}
