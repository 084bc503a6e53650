// Machine-wide claims on numbered resources the tests share with every other test run on the
// host: loopback address blocks (127.<b>.x.y), pod network blocks (10.244.<b>.0/24, netns
// dbtopo-pods-<b>). A pid-derived number alone collides between two runs (and between two
// kubelets of one run) now and then; a claim is a file created with O_EXCL that names its owner
// pid, so a number is handed to one live process at a time. A claim whose owner died is taken
// over; claims are released when the process exits.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Fixed at load: a test that points TMPDIR elsewhere for its engines still sees everyone's claims. */
const CLAIMS_DIR = path.join(os.tmpdir(), 'dbtopo-claims');

const held = new Set<string>();
let hookInstalled = false;

/** Whether process `pid` exists (EPERM: it does, under another user). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryCreate(file: string): boolean {
  try {
    fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

let swept = false;
/**
 * Removes claims whose owner died (a test worker that was killed runs no exit hook), once per
 * process, so the directory holds about as many files as live claims. The same rename-and-check
 * as a takeover: a claim someone took over meanwhile is put back.
 */
function sweep(): void {
  if (swept) return;
  swept = true;
  for (const name of fs.readdirSync(CLAIMS_DIR)) {
    if (name.includes('.stale-')) continue;
    const file = path.join(CLAIMS_DIR, name);
    let owner = NaN;
    try {
      owner = Number(fs.readFileSync(file, 'utf8'));
    } catch {
      continue; // released meanwhile
    }
    if (!Number.isInteger(owner) || owner <= 0 || alive(owner)) continue;
    const stale = `${file}.stale-${process.pid}`;
    try {
      fs.renameSync(file, stale);
      if (Number(fs.readFileSync(stale, 'utf8')) !== owner) fs.renameSync(stale, file);
      else fs.rmSync(stale, { force: true });
    } catch {
      // gone or taken meanwhile
    }
  }
}

/**
 * Claims one number in [min, max] for `kind`, starting the search at `seed` (so runs spread
 * out); throws when all are held by live processes.
 */
export function claimNumber(kind: string, min: number, max: number, seed = process.pid): number {
  fs.mkdirSync(CLAIMS_DIR, { recursive: true });
  try {
    sweep();
  } catch {
    // a file vanished while we read the directory: the search below copes with anything left
  }
  if (!hookInstalled) {
    hookInstalled = true;
    process.on('exit', () => {
      for (const f of held) fs.rmSync(f, { force: true });
    });
  }
  const span = max - min + 1;
  for (let i = 0; i < span; i++) {
    const n = min + ((((seed + i) % span) + span) % span);
    const file = path.join(CLAIMS_DIR, `${kind}-${n}`);
    if (held.has(file)) continue;
    if (!tryCreate(file)) {
      let owner = NaN;
      try {
        owner = Number(fs.readFileSync(file, 'utf8'));
      } catch {
        // removed meanwhile: try again below
      }
      // A half-written file (owner NaN) is someone creating it right now: leave it.
      if (!Number.isInteger(owner) || owner <= 0 || alive(owner)) continue;
      // Stale: its owner died without its exit hook. Rename first so two takers cannot both win.
      const stale = `${file}.stale-${process.pid}`;
      try {
        fs.renameSync(file, stale);
        // Someone else took it over between our read and our rename: put their claim back.
        if (Number(fs.readFileSync(stale, 'utf8')) !== owner) {
          fs.renameSync(stale, file);
          continue;
        }
        fs.rmSync(stale, { force: true });
      } catch {
        continue;
      }
      if (!tryCreate(file)) continue;
    }
    held.add(file);
    return n;
  }
  throw new Error(`no free ${kind} number in ${min}..${max}: every one is claimed by a live process (see ${CLAIMS_DIR})`);
}

/** Gives a claim back before the process exits. */
export function releaseNumber(kind: string, n: number): void {
  const file = path.join(CLAIMS_DIR, `${kind}-${n}`);
  if (!held.delete(file)) return;
  fs.rmSync(file, { force: true });
}
