#define _GNU_SOURCE
#include "CAgentSystem.h"
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <string.h>
#include <sys/stat.h>
#include <errno.h>

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
