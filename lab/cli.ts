// The lab by hand (as root):
//   node --import tsx lab/cli.ts up                 build the lab and leave it running
//   node --import tsx lab/cli.ts run <name|file>... run scenarios against the running lab (or a fresh one);
//                                                   a name is looked up in lab/scenarios/
//                                                   (`scenario` is the same command)
//   node --import tsx lab/cli.ts apply <file>       switch the censor to a scenario's rules and leave them on
//   node --import tsx lab/cli.ts clear              the censor does nothing again
//   node --import tsx lab/cli.ts down               take everything down (and /tmp/rasad-lab; RASAD_LAB_KEEP=1 keeps its runs)
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { applyScenario, clearCensor, labInfo, REPO_ROOT, runScenario, setupLab, STATE_DIR, teardownLab } from './harness.js';
import { loadScenario, resolveScenarioFile } from './scenario.js';
import { namespaceExists } from './topology.js';

const USAGE = 'usage: node --import tsx lab/cli.ts up | down | clear | apply <scenario> | run <scenario>...   (a scenario: a name or a .json path)';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'up': {
      const lab = await setupLab({ handleSignals: false });
      process.stdout.write(`lab up (state in ${lab.stateDir}); control helper: ${lab.controlAvailable ? 'running' : `not running (${lab.controlProblem})`}\n` +
        `run a tool in the client: ip netns exec client env NODE_EXTRA_CA_CERTS=${lab.pki.caCert} curl https://clean.world.test/\n`);
      return 0;
    }
    case 'down':
      teardownLab();
      process.stdout.write('lab down\n');
      return 0;
    case 'clear':
      labInfo();
      clearCensor();
      return 0;
    case 'apply': {
      if (rest.length !== 1) break;
      labInfo();
      await applyScenario(loadScenario(resolveScenarioFile(rest[0]!, REPO_ROOT)));
      process.stdout.write(`censor rules of ${rest[0]} applied; \`lab/cli.ts clear\` removes them\n`);
      return 0;
    }
    case 'run':
    case 'scenario': {
      if (rest.length === 0) break;
      const scenarios = rest.map((f) => loadScenario(resolveScenarioFile(f, REPO_ROOT))); // all valid before anything runs
      const fresh = !(existsSync(join(STATE_DIR, 'lab.json')) && namespaceExists('censor'));
      if (fresh) await setupLab();
      let failed = 0;
      try {
        for (const s of scenarios) if ((await runScenario(s)).mismatches.length > 0) failed++;
      } finally {
        // A by-hand run is for reading its files: they stay, the lab's keys do not.
        if (fresh) teardownLab({ keepRuns: true });
      }
      return failed === 0 ? 0 : 1;
    }
  }
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`lab: ${err.message}\n`);
    process.exitCode = 1;
  },
);
