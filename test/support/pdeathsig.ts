// A process a test starts must not outlive the test, even when the test runner itself is
// SIGKILLed (a timeout, Ctrl-C twice) and no exit hook runs. util-linux's `setpriv --pdeathsig`
// (in every Debian) asks the kernel to SIGKILL the child when the process that spawned it dies;
// it survives the exec into the engine. Without setpriv the command runs unwrapped.
import { existsSync } from 'node:fs';

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

/** `command args` wrapped so that it dies with this process. */
export function diesWithParent(command: string, args: readonly string[]): { command: string; args: string[] } {
  if (SETPRIV === undefined) return { command, args: [...args] };
  return { command: SETPRIV, args: ['--pdeathsig', 'SIGKILL', command, ...args] };
}
