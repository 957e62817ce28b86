/*
 * otactl_usage: the usage text of every command, printed for --help and
 * after a usage error (exit status 2).
 */
#include "otactl_usage.h"

#include <stdarg.h>
#include <stdio.h>

#include "otactl_ctx.h"
#include "otactl_err.h"

static const char usage_text[] =
    "usage: otactl [--config PATH] [--data-dir DIR] [--database TARGET]\n"
    "              COMMAND ...\n"
    "\n"
    "Release signing (no server needed):\n"
    "  keygen --out PREFIX\n"
    "      write PREFIX.key (Ed25519 PKCS#8 PEM, 0600) and PREFIX.pub\n"
    "  describe IMAGE --name N --version V --hardware H [--hardware H2 ...]\n"
    "      [--min-version V] [--security-counter N] [--filename F]\n"
    "      [--out FILE]\n"
    "      write the image descriptor (default IMAGE.json)\n"
    "  sign --key KEYFILE [--out SIGFILE] DESCRIPTOR\n"
    "      write the raw 64-byte Ed25519 signature (default "
    "DESCRIPTOR.sig)\n"
    "  verify --pub PUBFILE --sig SIGFILE DESCRIPTOR\n"
    "\n"
    "Server (options: --server URL, --token-file FILE, --cacert FILE):\n"
    "  upload IMAGE [--descriptor FILE] --sig KEYID:SIGFILE [--sig ...]\n"
    "  images [--name N] [--hardware H] [--min-version V]\n"
    "      [--max-version V] [--limit N] [--json]\n"
    "\n"
    "Fleet (same server options; --json prints otad's JSON):\n"
    "  devices import FILE.csv [--out TOKENS.csv] [--batch-size N]\n"
    "      [--dry-run]\n"
    "      CSV header: id,hardware[,version][,groups][,labels]\n"
    "  devices list [--group G] [--hardware H] [--version V]\n"
    "      [--seen-after T] [--seen-before T] [--json]\n"
    "  devices show|delete|rotate-token|revoke-token ID\n"
    "  groups create NAME [--description D]\n"
    "  groups list | show NAME | delete NAME\n"
    "  groups add|remove NAME [ID ...] [--file FILE]\n"
    "  gateways create NAME --group G [--group G2 ...]\n"
    "  gateways list | revoke NAME\n"
    "  rollouts create --image ID --group G [--group G2 ...] [--name N]\n"
    "      [--stages 1,5,25,100] [--failure-threshold 0.05]\n"
    "      [--min-reports 10] [--advance-after SEC]\n"
    "      [--gate simple|wilson] [--confidence 0.95]\n"
    "  rollouts list [--state S] [--image ID] | show ID\n"
    "  rollouts start|pause|resume|advance|abort ID [--reason R]\n"
    "      [--stage-index N]\n"
    "\n"
    "API tokens (directly in otad's database: --database TARGET, a SQLite\n"
    "path or a PostgreSQL URI/conninfo; default <data_dir>/otad.db):\n"
    "  token create --role admin|release|viewer --name NAME\n"
    "  token list [--json]\n"
    "  token revoke ID|NAME\n"
    "\n"
    "Environment: OTACTL_SERVER (default " OTACTL_DEFAULT_SERVER "),\n"
    "  OTACTL_TOKEN (or --token-file), OTACTL_CACERT, OTAD_* as for otad.\n"
    "The API token is never accepted as a command-line argument.\n";

void
otactl_usage(FILE *f)
{
	fputs(usage_text, f);
}

int
otactl_usage_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	otactl_err_v(fmt, ap);
	va_end(ap);
	fputs("(otactl --help for usage)\n", stderr);
	return OTACTL_EXIT_USAGE;
}
