/**
 * A classic-BPF seccomp filter, compiled here so no native module is needed; bubblewrap loads the
 * raw program from a file descriptor (`--seccomp FD`) after setting PR_SET_NO_NEW_PRIVS.
 *
 * Denied (EPERM): mounting and pivoting, ptrace and cross-process memory access, bpf, keyrings,
 * namespace changes (unshare, setns, clone with any CLONE_NEW* flag), io_uring, perf events,
 * kexec and kernel modules, userfaultfd, TIOCSTI/TIOCLINUX terminal injection, and `socket` for
 * AF_INET, AF_INET6 and AF_PACKET. `clone3` answers ENOSYS, not EPERM: glibc and Node then fall
 * back to `clone`, whose flags the filter can inspect (clone3 passes them in memory it cannot read).
 * A foreign architecture (i386 via int 0x80) or the x32 ABI kills the process.
 */

const BPF_LD_W_ABS = 0x20;
const BPF_JMP_JEQ_K = 0x15;
const BPF_JMP_JGE_K = 0x35;
const BPF_JMP_JSET_K = 0x45;
const BPF_RET_K = 0x06;

const RET_KILL_PROCESS = 0x80000000;
const RET_ALLOW = 0x7fff0000;
const retErrno = (errno: number) => 0x00050000 | errno;

const EPERM = 1;
const ENOSYS = 38;
const AUDIT_ARCH_X86_64 = 0xc000003e;
const X32_SYSCALL_BIT = 0x40000000;

/** seccomp_data: nr at 0, arch at 4, args[i] at 16 + 8i (little-endian: the low half first). */
const OFF_NR = 0;
const OFF_ARCH = 4;
const argLow = (i: number) => 16 + 8 * i;

/** x86_64 numbers (arch/x86/entry/syscalls/syscall_64.tbl). */
const X86_64 = {
  ioctl: 16,
  socket: 41,
  clone: 56,
  ptrace: 101,
  syslog: 103,
  pivot_root: 155,
  chroot: 161,
  acct: 163,
  mount: 165,
  umount2: 166,
  swapon: 167,
  swapoff: 168,
  reboot: 169,
  iopl: 172,
  ioperm: 173,
  init_module: 175,
  delete_module: 176,
  quotactl: 179,
  kexec_load: 246,
  add_key: 248,
  request_key: 249,
  keyctl: 250,
  unshare: 272,
  perf_event_open: 298,
  open_by_handle_at: 304,
  setns: 308,
  process_vm_readv: 310,
  process_vm_writev: 311,
  finit_module: 313,
  kexec_file_load: 320,
  bpf: 321,
  userfaultfd: 323,
  io_uring_setup: 425,
  io_uring_enter: 426,
  io_uring_register: 427,
  open_tree: 428,
  move_mount: 429,
  fsopen: 430,
  fsconfig: 431,
  fsmount: 432,
  fspick: 433,
  clone3: 435,
  mount_setattr: 442,
} as const;

const DENIED: ReadonlyArray<keyof typeof X86_64> = [
  'ptrace',
  'process_vm_readv',
  'process_vm_writev',
  'syslog',
  'pivot_root',
  'chroot',
  'acct',
  'mount',
  'umount2',
  'swapon',
  'swapoff',
  'reboot',
  'iopl',
  'ioperm',
  'init_module',
  'finit_module',
  'delete_module',
  'quotactl',
  'kexec_load',
  'kexec_file_load',
  'add_key',
  'request_key',
  'keyctl',
  'unshare',
  'setns',
  'perf_event_open',
  'open_by_handle_at',
  'bpf',
  'userfaultfd',
  'io_uring_setup',
  'io_uring_enter',
  'io_uring_register',
  'open_tree',
  'move_mount',
  'fsopen',
  'fsconfig',
  'fsmount',
  'fspick',
  'mount_setattr',
];

const AF_INET = 2;
const AF_INET6 = 10;
const AF_PACKET = 17;
const TIOCSTI = 0x5412;
const TIOCLINUX = 0x541c;
/** CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET. */
const CLONE_NEW_ANY =
  0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;

type Insn = [code: number, jt: number, jf: number, k: number];

/** `nr == syscall && arg(index) in values` → errno; any other value of that syscall is allowed. */
function denyArgValues(nr: number, index: number, values: number[], errno: number): Insn[] {
  const n = values.length;
  return [
    [BPF_JMP_JEQ_K, 0, n + 3, nr],
    [BPF_LD_W_ABS, 0, 0, argLow(index)],
    ...values.map((v, i): Insn => [BPF_JMP_JEQ_K, n - i, 0, v]),
    [BPF_RET_K, 0, 0, RET_ALLOW],
    [BPF_RET_K, 0, 0, retErrno(errno)],
  ];
}

/** `nr == syscall && arg(index) & mask` → errno. */
function denyArgBits(nr: number, index: number, mask: number, errno: number): Insn[] {
  return [
    [BPF_JMP_JEQ_K, 0, 4, nr],
    [BPF_LD_W_ABS, 0, 0, argLow(index)],
    [BPF_JMP_JSET_K, 1, 0, mask],
    [BPF_RET_K, 0, 0, RET_ALLOW],
    [BPF_RET_K, 0, 0, retErrno(errno)],
  ];
}

const deny = (nr: number, errno: number): Insn[] => [
  [BPF_JMP_JEQ_K, 0, 1, nr],
  [BPF_RET_K, 0, 0, retErrno(errno)],
];

/** The filter as the kernel's `struct sock_filter[]` (8 bytes each), or an error on an unsupported machine. */
export function compileSeccompFilter(arch: string = process.arch): Buffer {
  if (arch !== 'x64') {
    throw new Error(`the seccomp filter is written for x86_64; this machine is ${arch}`);
  }
  const program: Insn[] = [
    [BPF_LD_W_ABS, 0, 0, OFF_ARCH],
    [BPF_JMP_JEQ_K, 1, 0, AUDIT_ARCH_X86_64],
    [BPF_RET_K, 0, 0, RET_KILL_PROCESS],
    [BPF_LD_W_ABS, 0, 0, OFF_NR],
    [BPF_JMP_JGE_K, 0, 1, X32_SYSCALL_BIT],
    [BPF_RET_K, 0, 0, RET_KILL_PROCESS],
    ...DENIED.flatMap((name) => deny(X86_64[name], EPERM)),
    ...deny(X86_64.clone3, ENOSYS),
    // The blocks below load an argument, so each ends in a return and they come last.
    ...denyArgValues(X86_64.socket, 0, [AF_INET, AF_INET6, AF_PACKET], EPERM),
    ...denyArgValues(X86_64.ioctl, 1, [TIOCSTI, TIOCLINUX], EPERM),
    ...denyArgBits(X86_64.clone, 0, CLONE_NEW_ANY, EPERM),
    [BPF_RET_K, 0, 0, RET_ALLOW],
  ];
  const out = Buffer.alloc(program.length * 8);
  program.forEach(([code, jt, jf, k], i) => {
    out.writeUInt16LE(code, i * 8);
    out.writeUInt8(jt, i * 8 + 2);
    out.writeUInt8(jf, i * 8 + 3);
    out.writeUInt32LE(k >>> 0, i * 8 + 4);
  });
  return out;
}
