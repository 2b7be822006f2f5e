/**
 * Backend watchdogs: an engine whose server is gone may retry for a long
 * time (restic >= 0.17 for 15 minutes) or wait forever (borg over SSH on a
 * server that stopped answering); these call back when that has lasted
 * long enough, and the engine is stopped with a sentence naming the server.
 */

/**
 * Calls `onStuck` once the backend has kept failing for `seconds`: failures
 * (stderr lines) that started `seconds` ago and were still reported within
 * the last `seconds`. A quiet spell as long as the limit counts as recovery
 * (restic 0.14 says nothing when a retry succeeds).
 */
export function backendWatchdog(seconds: number, onStuck: () => void): { failure(): void; stop(): void } {
  let first: number | undefined;
  let last = 0;
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    const now = performance.now();
    if (now - last > seconds * 1000) first = undefined;
    else if (first !== undefined && now - first >= seconds * 1000) return onStuck();
    timer = first === undefined ? undefined : setTimeout(check, 250);
  };
  return {
    failure() {
      last = performance.now();
      if (first !== undefined) return;
      first = last;
      timer = setTimeout(check, seconds * 1000);
    },
    stop: () => clearTimeout(timer),
  };
}

