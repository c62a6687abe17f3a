/**
 * One turn at a time. Requests may arrive concurrently on the socket (a heartbeat while a chat turn
 * waits on the model); each waits for the previous one, in arrival order.
 */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    // The chain continues whether fn succeeded or not; the caller still sees its own error.
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
