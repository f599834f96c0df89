/**
 * A temporary file of text lines that a plugin sets aside and reads back
 * later, so that what it holds does not grow in memory with the data.
 * @module
 */

const encoder = new TextEncoder();

/** Lines written to a temporary file, read back in order, removed on `close()`. */
export class SpillFile {
  #path: string | undefined;
  #file: Deno.FsFile | undefined;
  #lines = 0;
  #queue: Promise<void> = Promise.resolve();

  /** Number of lines written so far. */
  get size(): number {
    return this.#lines;
  }

  /**
   * Appends `lines` (without newlines; a line must not contain one). Calls
   * that overlap are written one after the other, never interleaved.
   */
  append(lines: string[]): Promise<void> {
    if (lines.length === 0) return this.#queue;
    const done = this.#queue.then(() => this.#write(lines));
    this.#queue = done.catch(() => {});
    return done;
  }

  async #write(lines: string[]): Promise<void> {
    if (!this.#file) {
      this.#path = await Deno.makeTempFile({ prefix: "weft-spill-" });
      this.#file = await Deno.open(this.#path, { write: true, truncate: true });
    }
    const data = encoder.encode(lines.join("\n") + "\n");
    let written = 0;
    while (written < data.byteLength) written += await this.#file.write(data.subarray(written));
    this.#lines += lines.length;
  }

  /** Reads every line back, in the order written. */
  async *lines(): AsyncGenerator<string> {
    await this.#queue;
    if (!this.#path) return;
    const file = await Deno.open(this.#path, { read: true });
    let rest = "";
    for await (const chunk of file.readable.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const line of parts) yield line;
    }
    if (rest) yield rest;
  }

  /** Closes and removes the file. */
  async close(): Promise<void> {
    await this.#queue;
    this.#file?.close();
    this.#file = undefined;
    if (this.#path) await Deno.remove(this.#path).catch(() => {});
    this.#path = undefined;
  }
}
