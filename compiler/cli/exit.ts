// Exit codes of every dbtopo subcommand (documented in --help and docs/compiler.md).
export const EXIT = {
  ok: 0,
  /** The input has errors; diagnostics were printed. */
  diagnostics: 1,
  /** The command line is wrong (unknown option, unknown environment, --repo not a directory...). */
  usage: 2,
  /** A bug in dbtopo or an I/O failure; nothing was written. */
  internal: 3,
} as const;

export const EXIT_CODES_HELP = `
Exit codes:
  0  success (warnings may have been printed)
  1  the topology or environment files have errors; nothing was written
  2  usage error (unknown option or environment, --repo not a directory)
  3  internal error or I/O failure; previous output is left untouched`;
