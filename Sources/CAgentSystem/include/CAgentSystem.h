#ifndef VENICE_AGENT_SYSTEM_H
#define VENICE_AGENT_SYSTEM_H
#include <stdint.h>

/* Peer credentials of a connected Unix socket (SO_PEERCRED). Returns 0 on success. */
int venice_peer_credentials(int fd, uint32_t *uid, uint32_t *gid, int32_t *pid);

/* Size of struct ucred, for getsockopt through SwiftNIO's SocketOptionProvider. */
int venice_ucred_size(void);
int venice_sol_socket(void);
int venice_so_peercred(void);

/* Makes the process non-dumpable (no core files, no ptrace by same-uid peers) and sets
   RLIMIT_CORE to 0. Returns 0 when both succeeded. */
int venice_harden_process(void);

/* 1 when the process is currently non-dumpable. */
int venice_is_dumpable(void);
/* Raises the soft RLIMIT_NOFILE towards `wanted` (never above the hard limit). Returns the
   soft limit now in force, or -1. */
long venice_raise_open_files(long wanted);
/* The owner uid and st_mode (type and permission bits) of `path`; `follow_links` 0 = lstat.
   Returns 0, or the errno. (Swift's view of struct stat depends on which C modules are loaded.) */
int venice_file_status(const char *path, int follow_links, uint32_t *uid, uint32_t *mode);
/* What a descriptor inherited from systemd (socket activation) is: a listening stream socket
   and its local address. family: 1 = Unix (path in `path`, NUL-terminated), 4 = IPv4,
   6 = IPv6 (address bytes in `address`, 4 or 16, and `port`). Returns 0, or -1 when the
   descriptor is not a listening stream socket of those families. Also sets FD_CLOEXEC. */
int venice_listening_socket(int fd, int *family, char *path, int path_capacity, uint8_t *address, uint16_t *port);
/* The uid owning the TCP socket whose local end is (src, sport) and remote end (dst, dport),
   asked of the kernel by exact lookup (NETLINK_SOCK_DIAG), whatever the number of sockets.
   family 4 or 6; addresses 4 or 16 bytes; ports in host order. Returns 0 with *uid set when an
   ESTABLISHED socket with an inode matches, 1 when none does, -1 when the kernel cannot be asked. */
int venice_tcp_socket_uid(int family, const uint8_t *src, uint16_t sport, const uint8_t *dst, uint16_t dport, uint32_t *uid);
/* A pipe whose two ends are close-on-exec from the start (pipe2, O_CLOEXEC). Returns 0, or the errno. */
int venice_pipe_cloexec(int fds[2]);
/* Adds "close every descriptor from `low` up" to a posix_spawn_file_actions_t
   (posix_spawn_file_actions_addclosefrom_np, glibc >= 2.34). Returns 0, or the errno. */
int venice_spawn_add_closefrom(void *actions, int low);

#endif
