#define _GNU_SOURCE
#include "CAgentSystem.h"
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <string.h>
#include <sys/stat.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <spawn.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/inet_diag.h>

int venice_peer_credentials(int fd, uint32_t *uid, uint32_t *gid, int32_t *pid) {
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred)) return -1;
    *uid = cred.uid; *gid = cred.gid; *pid = cred.pid;
    return 0;
}

int venice_ucred_size(void) { return (int)sizeof(struct ucred); }


int venice_sol_socket(void) { return SOL_SOCKET; }
int venice_so_peercred(void) { return SO_PEERCRED; }

int venice_harden_process(void) {
    int rc = 0;
    struct rlimit none = {0, 0};
    if (setrlimit(RLIMIT_CORE, &none) != 0) rc = -1;
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) rc = -1;
    return rc;
}

int venice_is_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0); }

long venice_raise_open_files(long wanted) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return -1;
    rlim_t target = (rlim_t)wanted;
    if (limit.rlim_max != RLIM_INFINITY && target > limit.rlim_max) target = limit.rlim_max;
    if (target > limit.rlim_cur) {
        limit.rlim_cur = target;
        if (setrlimit(RLIMIT_NOFILE, &limit) != 0) return -1;
    }
    return (long)limit.rlim_cur;
}

int venice_file_status(const char *path, int follow_links, uint32_t *uid, uint32_t *mode) {
    struct stat st;
    int rc = follow_links ? stat(path, &st) : lstat(path, &st);
    if (rc != 0) return errno ? errno : -1;
    *uid = (uint32_t)st.st_uid;
    *mode = (uint32_t)st.st_mode;
    return 0;
}

int venice_listening_socket(int fd, int *family, char *path, int path_capacity, uint8_t *address, uint16_t *port) {
    int type = 0, listening = 0;
    socklen_t len = sizeof(type);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) return -1;
    len = sizeof(listening);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) return -1;
    struct sockaddr_storage storage;
    memset(&storage, 0, sizeof(storage));
    len = sizeof(storage);
    if (getsockname(fd, (struct sockaddr *)&storage, &len) != 0) return -1;
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    switch (storage.ss_family) {
    case AF_UNIX: {
        struct sockaddr_un *un = (struct sockaddr_un *)&storage;
        size_t max = len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;
        if (max > sizeof(un->sun_path)) max = sizeof(un->sun_path);
        size_t n = strnlen(un->sun_path, max);
        if (path_capacity <= 0 || n >= (size_t)path_capacity) return -1;
        memcpy(path, un->sun_path, n);
        path[n] = 0;
        *family = 1;
        return 0;
    }
    case AF_INET: {
        struct sockaddr_in *in4 = (struct sockaddr_in *)&storage;
        memcpy(address, &in4->sin_addr, 4);
        *port = ntohs(in4->sin_port);
        *family = 4;
        return 0;
    }
    case AF_INET6: {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&storage;
        memcpy(address, &in6->sin6_addr, 16);
        *port = ntohs(in6->sin6_port);
        *family = 6;
        return 0;
    }
    default:
        return -1;
    }
}

int venice_tcp_socket_uid(int family, const uint8_t *src, uint16_t sport, const uint8_t *dst, uint16_t dport, uint32_t *uid) {
    enum { ESTABLISHED = 1 };
    if (family != 4 && family != 6) return -1;
    size_t length = family == 4 ? 4 : 16;
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) return -1;
    struct timeval timeout = { .tv_sec = 2, .tv_usec = 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    struct { struct nlmsghdr header; struct inet_diag_req_v2 request; } message;
    memset(&message, 0, sizeof(message));
    message.header.nlmsg_len = sizeof(message);
    message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    message.header.nlmsg_flags = NLM_F_REQUEST;
    message.request.sdiag_family = family == 4 ? AF_INET : AF_INET6;
    message.request.sdiag_protocol = IPPROTO_TCP;
    message.request.idiag_states = 1u << ESTABLISHED;
    message.request.id.idiag_sport = htons(sport);
    message.request.id.idiag_dport = htons(dport);
    memcpy(message.request.id.idiag_src, src, length);
    memcpy(message.request.id.idiag_dst, dst, length);
    message.request.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
    message.request.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
    struct sockaddr_nl kernel;
    memset(&kernel, 0, sizeof(kernel));
    kernel.nl_family = AF_NETLINK;
    if (sendto(fd, &message, sizeof(message), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) { close(fd); return -1; }
    long buffer[2048];
    ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    close(fd);
    if (n < 0) return -1;
    int result = 1;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buffer; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
        if (h->nlmsg_type == NLMSG_ERROR) {
            struct nlmsgerr *error = (struct nlmsgerr *)NLMSG_DATA(h);
            if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*error))) return -1;
            /* ENOENT: no such socket. Anything else: the kernel cannot answer this way. */
            return error->error == -ENOENT ? 1 : -1;
        }
        if (h->nlmsg_type == NLMSG_DONE) break;
        if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg))) continue;
        struct inet_diag_msg *found = (struct inet_diag_msg *)NLMSG_DATA(h);
        if (found->idiag_state == ESTABLISHED && found->idiag_inode != 0) {
            *uid = found->idiag_uid;
            return 0;
        }
    }
    return result;
}

int venice_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC) == 0 ? 0 : errno;
}

int venice_spawn_add_closefrom(void *actions, int low) {
    return posix_spawn_file_actions_addclosefrom_np((posix_spawn_file_actions_t *)actions, low);
}
