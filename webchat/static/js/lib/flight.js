// One helper for work that must not overlap and may have to wait: sending the read
// pointer, the typing signal, the outbox, the catch-up and the older pages.

/**
 * Wrap `task` (sync or async) into `run()`, which starts it unless it is running:
 * - a run() while it runs is remembered, and the task runs once more when it ends
 *   (`queue`, the default) or is dropped (`queue: false`);
 * - starts are at least `gapMs` apart: a run() sooner waits for the gap (queue) or is
 *   dropped (a throttle);
 * - the task may return (or resolve to) a number of ms: it runs again after that long,
 *   and not sooner (a retry, or a server's "wait").
 * `reset()` forgets the gap and any waiting run. A task handles its own errors.
 */
export function singleFlight(task, { gapMs = 0, queue = true } = {}) {
  let running = false;
  let again = false;
  let timer = null;
  let notBefore = 0;

  function startAt(time) {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      start();
    }, Math.max(0, time - Date.now()));
  }

  async function start() {
    running = true;
    again = false;
    notBefore = Date.now() + gapMs;
    let retryMs;
    try {
      retryMs = await task();
    } finally {
      running = false;
    }
    if (retryMs > 0) {
      notBefore = Math.max(notBefore, Date.now() + retryMs);
      startAt(notBefore);
    } else if (again) {
      run();
    }
  }

  function run() {
    if (running) {
      again ||= queue;
      return;
    }
    if (timer) return;   // a start is already waiting
    if (Date.now() >= notBefore) start();
    else if (queue) startAt(notBefore);
  }

  function reset() {
    clearTimeout(timer);
    timer = null;
    again = false;
    notBefore = 0;
  }

  return { run, reset };
}
