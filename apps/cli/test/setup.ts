import { afterEach } from "vitest";

// The tests run the CLI with spawnSync, which blocks this worker's event loop
// for a whole test. Vitest's replies to the worker's progress reports wait in
// that loop, and when several tests in a row block it for over 60 s in total
// vitest reports "Timeout calling onTaskUpdate". One turn of the loop after
// each test (setImmediate: after the I/O phase) lets the replies in.
afterEach(() => new Promise<void>((resolve) => setImmediate(resolve)));
