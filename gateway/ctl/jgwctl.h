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
/* The rest (status, stats, reload, peers, quarantine) talk to jgwd over
 * the control socket: ctl_daemon_main in jgwctl.c. */
int ctl_daemon_main(int argc, char **argv);

#endif
