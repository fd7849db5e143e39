// herald_packet: one AF_PACKET socket bound to one interface, driven by the
// libuv loop. Only what JavaScript cannot do itself lives here: open, filter,
// multicast membership, send, receive, close. Frame parsing stays in TypeScript.
// recvmmsg
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

// Frames read per recvmmsg, and at most eight of those per wake-up, so one
// busy link cannot starve the rest of the loop.
#define BATCH 32
#define BATCHES_PER_WAKEUP 8
#define MAX_FILTER_INSNS 4096
// Per frame slot: larger than any frame of a 9000-byte jumbo link; longer ones are cut (MSG_TRUNC).
#define SLOT_SIZE 16384

typedef struct {
  napi_env env;
  napi_ref self;      // strong while open: an open socket is never collected
  napi_ref on_frames; // (frames: Buffer, meta: Uint32Array) => void; meta: [length, pkttype] per frame
  napi_ref on_error;  // (code: string, stopped: boolean) => void, or NULL
  napi_async_context async_ctx;
  uv_poll_t *poll;
  bool polling;       // false once libuv stopped the handle after POLLERR
  uint8_t *rx_buf;    // BATCH slots, per socket, so the addon is safe in worker threads
  int fd;
  int ifindex;
} packet_socket;

#define CALL(env, expr)                                        \
  do {                                                         \
    if ((expr) != napi_ok) {                                   \
      const napi_extended_error_info *info_;                   \
      napi_get_last_error_info((env), &info_);                 \
      bool pending_;                                           \
      napi_is_exception_pending((env), &pending_);             \
      if (!pending_)                                           \
        napi_throw_error((env), "EINTERNAL",                   \
                         info_->error_message ? info_->error_message : #expr); \
      return NULL;                                             \
    }                                                          \
  } while (0)

static const char *errno_name(int err) {
  switch (err) {
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENODEV: return "ENODEV";
    case ENXIO: return "ENXIO";
    case EINVAL: return "EINVAL";
    case EAGAIN: return "EAGAIN";
    case ENOBUFS: return "ENOBUFS";
    case ENETDOWN: return "ENETDOWN";
    case EMSGSIZE: return "EMSGSIZE";
    case EBADF: return "EBADF";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case ENOMEM: return "ENOMEM";
    case EMFILE: return "EMFILE";
    default: return "EIO";
  }
}

static void throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s (%s)", what, strerror(err), errno_name(err));
  napi_throw_error(env, errno_name(err), msg);
}

static void free_handle(uv_handle_t *h) { free(h); }

static void close_socket(packet_socket *s) {
  if (s->fd < 0) return;
  // Stop polling before closing the fd, as libuv requires; the handle memory is
  // released by uv_close's callback on a later loop turn.
  uv_poll_stop(s->poll);
  close(s->fd);
  s->fd = -1;
  uv_close((uv_handle_t *)s->poll, free_handle);
  s->poll = NULL;
  napi_env env = s->env;
  s->polling = false;
  if (s->on_frames) { napi_delete_reference(env, s->on_frames); s->on_frames = NULL; }
  if (s->on_error) { napi_delete_reference(env, s->on_error); s->on_error = NULL; }
  free(s->rx_buf);
  s->rx_buf = NULL;
  if (s->async_ctx) { napi_async_destroy(env, s->async_ctx); s->async_ctx = NULL; }
  if (s->self) {
    uint32_t n;
    napi_reference_unref(env, s->self, &n);
  }
}

// Calls a JavaScript callback from the loop. make_callback runs microtasks; a
// throw is handed to 'uncaughtException', as for any other I/O callback,
// instead of staying pending in our scope. Returns false if the call failed.
static bool call_js(packet_socket *s, napi_ref fn, size_t argc, napi_value *argv) {
  napi_env env = s->env;
  napi_value cb, recv, result;
  if (napi_get_reference_value(env, fn, &cb) != napi_ok) return false;
  if (napi_get_reference_value(env, s->self, &recv) != napi_ok) return false;
  if (napi_make_callback(env, s->async_ctx, recv, cb, argc, argv, &result) != napi_ok) {
    bool pending = false;
    napi_value exc;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending &&
        napi_get_and_clear_last_exception(env, &exc) == napi_ok) {
      napi_fatal_exception(env, exc);
    }
    return false;
  }
  return true;
}

// Tells JavaScript about a socket error. `stopped`: libuv stopped the poll
// handle, so nothing is read until resume() is called.
static void report_error(packet_socket *s, int err, bool stopped) {
  if (!s->on_error) return;
  napi_env env = s->env;
  napi_value argv[2];
  if (napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &argv[0]) != napi_ok) return;
  if (napi_get_boolean(env, stopped, &argv[1]) != napi_ok) return;
  call_js(s, s->on_error, 2, argv);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)events;
  packet_socket *s = handle->data;
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (status < 0) {
    // POLLERR: the kernel set sk_err (ENETDOWN when the link went down, even
    // for a moment). libuv has stopped the handle for good; reading SO_ERROR
    // clears the error, and JavaScript decides when to resume. Staying
    // silent here is how a bounce used to leave the socket deaf.
    s->polling = false;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    report_error(s, err ? err : EIO, true);
    napi_close_handle_scope(env, scope);
    return;
  }
  // One recvmmsg for up to BATCH frames, one Buffer and one call into
  // JavaScript for all of them: under a flood that passes the filter, the
  // cost per frame is a copy, not a syscall, an allocation and a call.
  for (int round = 0; round < BATCHES_PER_WAKEUP && s->fd >= 0; round++) {
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    struct sockaddr_ll from[BATCH];
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < BATCH; i++) {
      iov[i].iov_base = s->rx_buf + (size_t)i * SLOT_SIZE;
      iov[i].iov_len = SLOT_SIZE;
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    int n = recvmmsg(s->fd, msgs, BATCH, MSG_DONTWAIT, NULL);
    if (n < 0) {
      int err = errno;
      // A pending sk_err is returned (and cleared) by the read itself; the
      // handle keeps polling, but JavaScript still needs to hear of it.
      if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR) report_error(s, err, false);
      break;
    }
    size_t total = 0;
    uint32_t kept = 0;
    for (int i = 0; i < n; i++) {
      if (from[i].sll_pkttype == PACKET_OUTGOING) continue;
      total += msgs[i].msg_len < SLOT_SIZE ? msgs[i].msg_len : SLOT_SIZE;
      kept++;
    }
    if (kept > 0) {
      napi_value argv[2], meta_ab;
      void *data;
      uint32_t *meta;
      if (napi_create_buffer(env, total, &data, &argv[0]) != napi_ok) break;
      if (napi_create_arraybuffer(env, (size_t)kept * 2 * sizeof(uint32_t), (void **)&meta, &meta_ab) != napi_ok) break;
      if (napi_create_typedarray(env, napi_uint32_array, (size_t)kept * 2, meta_ab, 0, &argv[1]) != napi_ok) break;
      size_t at = 0;
      uint32_t k = 0;
      for (int i = 0; i < n; i++) {
        if (from[i].sll_pkttype == PACKET_OUTGOING) continue;
        size_t len = msgs[i].msg_len < SLOT_SIZE ? msgs[i].msg_len : SLOT_SIZE;
        memcpy((uint8_t *)data + at, iov[i].iov_base, len);
        at += len;
        meta[2 * k] = (uint32_t)len;
        meta[2 * k + 1] = from[i].sll_pkttype;
        k++;
      }
      if (!call_js(s, s->on_frames, 2, argv)) break;
    }
    if (n < BATCH) break;  // drained
  }
  napi_close_handle_scope(env, scope);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  packet_socket *s = data;
  close_socket(s);
  if (s->self) napi_delete_reference(env, s->self);
  free(s);
}

static packet_socket *unwrap_open(napi_env env, napi_callback_info info, size_t *argc,
                                  napi_value *argv) {
  napi_value self;
  packet_socket *s;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, self, (void **)&s) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "not a PacketSocket");
    return NULL;
  }
  if (s->fd < 0) {
    napi_throw_error(env, "EBADF", "packet socket is closed");
    return NULL;
  }
  return s;
}

// Reads a Uint32Array of [code, jt, jf, k] quadruples into a sock_fprog.
static int read_filter(napi_env env, napi_value v, struct sock_filter **out, unsigned short *count) {
  bool is_ta;
  napi_typedarray_type type;
  size_t len;
  void *data;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, v, &type, &len, &data, NULL, NULL) != napi_ok ||
      type != napi_uint32_array || len == 0 || len % 4 != 0 || len / 4 > MAX_FILTER_INSNS) {
    napi_throw_type_error(env, "EINVAL",
                          "filter must be a non-empty Uint32Array of [code, jt, jf, k] quadruples, at most 4096 instructions");
    return -1;
  }
  size_t n = len / 4;
  const uint32_t *q = data;
  struct sock_filter *f = calloc(n, sizeof *f);
  if (!f) { throw_errno(env, "allocating filter", ENOMEM); return -1; }
  for (size_t i = 0; i < n; i++) {
    if (q[4 * i] > 0xffff || q[4 * i + 1] > 0xff || q[4 * i + 2] > 0xff) {
      free(f);
      napi_throw_range_error(env, "EINVAL", "filter instruction field out of range");
      return -1;
    }
    f[i].code = (uint16_t)q[4 * i];
    f[i].jt = (uint8_t)q[4 * i + 1];
    f[i].jf = (uint8_t)q[4 * i + 2];
    f[i].k = q[4 * i + 3];
  }
  *out = f;
  *count = (unsigned short)n;
  return 0;
}

static int attach_filter(napi_env env, int fd, napi_value v) {
  struct sock_filter *f;
  unsigned short n;
  if (read_filter(env, v, &f, &n) < 0) return -1;
  struct sock_fprog prog = {.len = n, .filter = f};
  int rc = setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
  int err = errno;
  free(f);
  if (rc < 0) { throw_errno(env, "attaching BPF filter (the kernel rejected the program)", err); return -1; }
  return 0;
}

// new PacketSocket(ifname, filter, onFrames[, onError])
static napi_value construct(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], self;
  CALL(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  napi_valuetype t0 = napi_undefined, t2 = napi_undefined, t3 = napi_undefined;
  if (argc >= 3) {
    CALL(env, napi_typeof(env, argv[0], &t0));
    CALL(env, napi_typeof(env, argv[2], &t2));
  }
  if (argc >= 4) CALL(env, napi_typeof(env, argv[3], &t3));
  if (argc < 3 || t0 != napi_string || t2 != napi_function ||
      (t3 != napi_undefined && t3 != napi_function)) {
    napi_throw_type_error(env, "EINVAL", "usage: new PacketSocket(ifname, filter, onFrames[, onError])");
    return NULL;
  }
  // Measure first: napi copies whole characters only, so a name cut to fit a
  // buffer could name another interface; a NUL inside would too.
  char ifname[IFNAMSIZ];
  size_t iflen;
  char msg[128];
  CALL(env, napi_get_value_string_utf8(env, argv[0], NULL, 0, &iflen));
  if (iflen == 0 || iflen >= IFNAMSIZ) {
    snprintf(msg, sizeof msg, "unknown interface (not a valid interface name: %zu bytes, at most %d)",
             iflen, IFNAMSIZ - 1);
    napi_throw_error(env, "ENODEV", msg);
    return NULL;
  }
  CALL(env, napi_get_value_string_utf8(env, argv[0], ifname, sizeof ifname, &iflen));
  if (strlen(ifname) != iflen) {
    napi_throw_error(env, "ENODEV", "unknown interface (not a valid interface name: it contains a NUL)");
    return NULL;
  }
  unsigned int ifindex = if_nametoindex(ifname);
  if (ifindex == 0) {
    snprintf(msg, sizeof msg, "unknown interface \"%s\"", ifname);
    napi_throw_error(env, "ENODEV", msg);
    return NULL;
  }
  // Protocol 0: nothing is queued until bind(), so the filter is in place
  // before the first frame arrives.
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    int err = errno;
    if (err == EPERM || err == EACCES) {
      napi_throw_error(env, "EPERM", "opening a packet socket needs CAP_NET_RAW (EPERM)");
    } else {
      throw_errno(env, "socket(AF_PACKET)", err);
    }
    return NULL;
  }
  if (attach_filter(env, fd, argv[1]) < 0) { close(fd); return NULL; }
  int one = 1;
  // Best effort: the default filter also rejects PACKET_OUTGOING and the
  // receive loop checks it a third time.
  (void)setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
  struct sockaddr_ll addr = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = (int)ifindex};
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    int err = errno;
    close(fd);
    snprintf(msg, sizeof msg, "binding packet socket to \"%s\"", ifname);
    if (err == ENODEV) {
      snprintf(msg, sizeof msg, "unknown interface \"%s\" (it went away)", ifname);
      napi_throw_error(env, "ENODEV", msg);
    } else {
      throw_errno(env, msg, err);
    }
    return NULL;
  }
  packet_socket *s = calloc(1, sizeof *s);
  uv_poll_t *poll = malloc(sizeof *poll);
  uint8_t *rx_buf = malloc((size_t)BATCH * SLOT_SIZE);
  uv_loop_t *loop;
  if (!s || !poll || !rx_buf || napi_get_uv_event_loop(env, &loop) != napi_ok ||
      uv_poll_init(loop, poll, fd) != 0) {
    free(s); free(poll); free(rx_buf); close(fd);
    napi_throw_error(env, "EIO", "cannot register packet socket with the event loop");
    return NULL;
  }
  s->env = env;
  s->fd = fd;
  s->ifindex = (int)ifindex;
  s->poll = poll;
  s->rx_buf = rx_buf;
  poll->data = s;
  napi_value resource_name;
  bool wrapped = false;
  if (napi_create_reference(env, argv[2], 1, &s->on_frames) != napi_ok ||
      (t3 == napi_function && napi_create_reference(env, argv[3], 1, &s->on_error) != napi_ok) ||
      napi_create_string_utf8(env, "herald.PacketSocket", NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_async_init(env, self, resource_name, &s->async_ctx) != napi_ok ||
      !(wrapped = napi_wrap(env, self, s, finalize, NULL, &s->self) == napi_ok) ||
      napi_reference_ref(env, s->self, NULL) != napi_ok) {
    close_socket(s);
    // Once wrapped, the finalizer frees s; before that nothing else would.
    if (!wrapped) free(s);
    napi_throw_error(env, "EIO", "cannot set up packet socket");
    return NULL;
  }
  int rc = uv_poll_start(poll, UV_READABLE, on_readable);
  if (rc != 0) {
    close_socket(s);
    snprintf(msg, sizeof msg, "cannot poll packet socket: %s", uv_strerror(rc));
    napi_throw_error(env, "EIO", msg);
    return NULL;
  }
  s->polling = true;
  return self;
}

// Stops polling until resume(): JavaScript spaces out wake-ups under a
// flood, and the kernel queues frames meanwhile. A no-op when not polling.
static napi_value js_pause(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  packet_socket *s = unwrap_open(env, info, &argc, NULL);
  if (!s) return NULL;
  if (!s->polling) return NULL;
  uv_poll_stop(s->poll);
  s->polling = false;
  return NULL;
}

// Clears a pending socket error and polls again after libuv stopped the
// handle (see on_readable) or pause(); returns the cleared error's code, if
// any. A no-op while polling.
static napi_value js_resume(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  packet_socket *s = unwrap_open(env, info, &argc, NULL);
  if (!s) return NULL;
  if (s->polling) return NULL;
  int err = 0;
  socklen_t len = sizeof err;
  (void)getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
  int rc = uv_poll_start(s->poll, UV_READABLE, on_readable);
  if (rc != 0) {
    char msg[128];
    snprintf(msg, sizeof msg, "cannot poll packet socket again: %s", uv_strerror(rc));
    napi_throw_error(env, "EIO", msg);
    return NULL;
  }
  s->polling = true;
  // An error that arrived while paused was cleared just now: say which.
  if (err == 0) return NULL;
  napi_value code;
  CALL(env, napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &code));
  return code;
}

// The bound link's flags as the kernel has them now, read on this socket so
// it is the socket's network namespace: { up: IFF_UP, running: IFF_RUNNING }.
static napi_value js_link_state(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  packet_socket *s = unwrap_open(env, info, &argc, NULL);
  if (!s) return NULL;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (!if_indextoname((unsigned)s->ifindex, ifr.ifr_name)) {
    throw_errno(env, "reading the link's name", errno);
    return NULL;
  }
  if (ioctl(s->fd, SIOCGIFFLAGS, &ifr) < 0) {
    throw_errno(env, "reading the link's flags", errno);
    return NULL;
  }
  napi_value obj, up, running;
  CALL(env, napi_create_object(env, &obj));
  CALL(env, napi_get_boolean(env, (ifr.ifr_flags & IFF_UP) != 0, &up));
  CALL(env, napi_get_boolean(env, (ifr.ifr_flags & IFF_RUNNING) != 0, &running));
  CALL(env, napi_set_named_property(env, obj, "up", up));
  CALL(env, napi_set_named_property(env, obj, "running", running));
  return obj;
}

static napi_value js_set_filter(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  packet_socket *s = unwrap_open(env, info, &argc, argv);
  if (!s) return NULL;
  // SO_ATTACH_FILTER swaps the program atomically: no window without a filter.
  if (attach_filter(env, s->fd, argv[0]) < 0) return NULL;
  return NULL;
}

static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  packet_socket *s = unwrap_open(env, info, &argc, argv);
  if (!s) return NULL;
  bool is_buf;
  void *data;
  size_t len;
  CALL(env, napi_is_buffer(env, argv[0], &is_buf));
  if (!is_buf) { napi_throw_type_error(env, "EINVAL", "send() takes a Buffer"); return NULL; }
  CALL(env, napi_get_buffer_info(env, argv[0], &data, &len));
  if (len < ETH_HLEN) { napi_throw_range_error(env, "EINVAL", "frame shorter than an Ethernet header"); return NULL; }
  if (send(s->fd, data, len, MSG_DONTWAIT) < 0) { throw_errno(env, "sending frame", errno); return NULL; }
  return NULL;
}

static napi_value membership(napi_env env, napi_callback_info info, int op) {
  size_t argc = 1;
  napi_value argv[1];
  packet_socket *s = unwrap_open(env, info, &argc, argv);
  if (!s) return NULL;
  bool is_buf;
  void *data;
  size_t len;
  CALL(env, napi_is_buffer(env, argv[0], &is_buf));
  if (is_buf) CALL(env, napi_get_buffer_info(env, argv[0], &data, &len));
  if (!is_buf || len != ETH_ALEN) {
    napi_throw_type_error(env, "EINVAL", "membership takes a 6-byte MAC address Buffer");
    return NULL;
  }
  struct packet_mreq mreq = {.mr_ifindex = s->ifindex, .mr_type = PACKET_MR_MULTICAST, .mr_alen = ETH_ALEN};
  memcpy(mreq.mr_address, data, ETH_ALEN);
  if (setsockopt(s->fd, SOL_PACKET, op, &mreq, sizeof mreq) < 0) {
    throw_errno(env, op == PACKET_ADD_MEMBERSHIP ? "joining multicast group" : "leaving multicast group", errno);
  }
  return NULL;
}

static napi_value js_add_membership(napi_env env, napi_callback_info info) {
  return membership(env, info, PACKET_ADD_MEMBERSHIP);
}

static napi_value js_drop_membership(napi_env env, napi_callback_info info) {
  return membership(env, info, PACKET_DROP_MEMBERSHIP);
}

// Kernel receive counters since the previous call (reading resets them).
static napi_value js_take_stats(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  packet_socket *s = unwrap_open(env, info, &argc, NULL);
  if (!s) return NULL;
  struct tpacket_stats st;
  socklen_t len = sizeof st;
  if (getsockopt(s->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0) {
    throw_errno(env, "reading packet statistics", errno);
    return NULL;
  }
  napi_value obj, packets, drops;
  CALL(env, napi_create_object(env, &obj));
  CALL(env, napi_create_uint32(env, st.tp_packets, &packets));
  CALL(env, napi_create_uint32(env, st.tp_drops, &drops));
  CALL(env, napi_set_named_property(env, obj, "packets", packets));
  CALL(env, napi_set_named_property(env, obj, "drops", drops));
  return obj;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value self;
  packet_socket *s;
  CALL(env, napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  if (napi_unwrap(env, self, (void **)&s) != napi_ok) return NULL;
  close_socket(s);  // idempotent
  return NULL;
}

static napi_value js_ifindex(napi_env env, napi_callback_info info) {
  napi_value self, out;
  packet_socket *s;
  CALL(env, napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  CALL(env, napi_unwrap(env, self, (void **)&s));
  CALL(env, napi_create_int32(env, s->ifindex, &out));
  return out;
}

static napi_value js_closed(napi_env env, napi_callback_info info) {
  napi_value self, out;
  packet_socket *s;
  CALL(env, napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  CALL(env, napi_unwrap(env, self, (void **)&s));
  CALL(env, napi_get_boolean(env, s->fd < 0, &out));
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"setFilter", NULL, js_set_filter, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, js_send, NULL, NULL, NULL, napi_default, NULL},
      {"addMembership", NULL, js_add_membership, NULL, NULL, NULL, napi_default, NULL},
      {"dropMembership", NULL, js_drop_membership, NULL, NULL, NULL, napi_default, NULL},
      {"takeStats", NULL, js_take_stats, NULL, NULL, NULL, napi_default, NULL},
      {"resume", NULL, js_resume, NULL, NULL, NULL, napi_default, NULL},
      {"pause", NULL, js_pause, NULL, NULL, NULL, napi_default, NULL},
      {"linkState", NULL, js_link_state, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"ifindex", NULL, NULL, js_ifindex, NULL, NULL, napi_default, NULL},
      {"closed", NULL, NULL, js_closed, NULL, NULL, napi_default, NULL},
  };
  napi_value cls;
  CALL(env, napi_define_class(env, "PacketSocket", NAPI_AUTO_LENGTH, construct, NULL,
                              sizeof props / sizeof props[0], props, &cls));
  CALL(env, napi_set_named_property(env, exports, "PacketSocket", cls));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
