// Cleanup that must happen however a bench ends: normally, on an error, or
// on Ctrl-C/SIGTERM (a network namespace or a server child left behind
// would outlive the bench). Tasks are synchronous so that they can also run
// from the 'exit' event, and each runs once, last registered first.
type Task = () => void;

const tasks: Task[] = [];
let installed = false;

function runAll(): void {
  while (tasks.length > 0) {
    const task = tasks.pop()!;
    try {
      task();
    } catch (err) {
      process.stderr.write(`teardown step failed: ${(err as Error).message}\n`);
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runAll);
  let exiting = false;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    // `on`, not `once`: a second signal (Ctrl-C reaches the whole process
    // group, and a parent may forward it too) must not kill the process
    // halfway through its teardown.
    process.on(signal, () => {
      if (exiting) return;
      exiting = true;
      process.stderr.write(`\n${signal}: tearing down\n`);
      runAll();
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  }
}

export interface TeardownHandle {
  /** Runs the task now (once, if it has not run) and unregisters it. */
  run(): void;
  /** Unregisters the task without running it (what it guarded is gone already). */
  cancel(): void;
}

/** Registers `task` to run at exit, on an error that ends the process, or on a signal. */
export function atTeardown(task: Task): TeardownHandle {
  install();
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    task();
  };
  tasks.push(once);
  const unregister = () => {
    const i = tasks.indexOf(once);
    if (i >= 0) tasks.splice(i, 1);
  };
  return {
    run() {
      unregister();
      once();
    },
    cancel() {
      unregister();
      done = true;
    },
  };
}
