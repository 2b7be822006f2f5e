/** The CLI's usage text; printed on stderr with exit 2 for usage errors. */
export const USAGE = `usage: qubes-dedup <command> [options]

commands (backup qube side of qubes-dedup):
  repo add <name> --engine restic|borg --location PATH|URL --password-file FILE
                          register a repository, initialising it when it is new
  repo list [--json]      list registered repositories
  ingest [--repo NAME]    store the Qubes backup stream read on stdin
                          (the command dom0 names as the qvm-backup location)
  dump [--repo NAME] <snapshot>
                          write a snapshot's original backup stream to stdout
                          (<snapshot>: an id or unique prefix from "snapshots", or latest)
  snapshots [--repo NAME] [--json]
                          list snapshots with sizes and dedup ratio
  reindex [--repo NAME]   rebuild the index of a repository from the repository itself
                          (after losing the backup qube: repo add the repository, then reindex)
  web-token [--rotate]    print the dashboard's session token (--rotate: replace it)

options:
  --repo NAME             repository name (default: default)
  --db PATH               index database (default: $QUBES_DEDUP_DB or var/qubes-dedup.db)
  -h, --help              show this text
`;

/** A command-line mistake: the CLI prints the message and the usage, exit 2. */
export class UsageError extends Error {
  override name = "UsageError";
}
