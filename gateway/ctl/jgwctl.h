/*
 * jgwctl.h — the subcommands of jgwctl, one entry point per area, so each
 * lives beside the module it drives. jgwctl.c only dispatches.
 * Each returns the process exit status (0 ok, 1 failure, 2 usage).
 */
#ifndef JGW_JGWCTL_H
#define JGW_JGWCTL_H

int ctl_check_main(int argc, char **argv);   /* jgwctl check FILE */
int ctl_nft_main(int argc, char **argv);     /* jgwctl nft print [CONFIG] */
int ctl_audit_main(int argc, char **argv);   /* jgwctl audit init|verify|tail */
/* config show|diff|rollback (ctl_config.c): argv is the request's words
 * (nwords of them), then its options; -1 for the verbs that are a plain
 * request (config history, or a usage error the daemon's parser names).
 * The rest talk to jgwd over the control socket (jgwctl.c). */
int ctl_config_main(const char *sock, const char *conf, int nwords, int argc, char **argv);

#endif
