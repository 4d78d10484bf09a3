/*
 * vman RISC-V probe payload (S-mode, bare metal, no libc).
 *
 * Prints over the ns16550 UART named in the device tree what the partition sees:
 * model, compatible, memory, the enabled harts, bootargs; starts every other enabled
 * hart of the tree with SBI HSM hart_start and lets each print its own hart id; tries
 * to start a hart that is NOT in the tree (must fail); then prints the readiness line.
 * Output format matches test/payloads/linux/init:
 *
 *   VMAN-PROBE-BEGIN
 *   vman-probe: key=value
 *   ...
 *   VMAN-PROBE-END
 *   VMAN-READY
 *
 * Afterwards: `vman.after=poweroff` in /chosen/bootargs → SBI system reset
 * (shutdown); otherwise the harts idle in wfi.
 */
typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long u64;
typedef long s64;

#define PROBE_STACK_SIZE 4096
#define PROBE_MAX_HARTS 8
#define MAX_MEMORY 8
#define MAX_HARTID_PROBED 8 /* HSM status is reported for hart ids 0..7 */
#define FALLBACK_UART 0x10000000UL /* QEMU virt's ns16550a */
#define DEFAULT_TIMEBASE 10000000UL /* QEMU virt: 10 MHz */
#define SECONDARY_TIMEOUT_MS 2000

/* Devicetree Specification v0.4, 5.4.1: structure block tokens. */
#define FDT_MAGIC 0xd00dfeedU
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE 2
#define FDT_PROP 3
#define FDT_NOP 4
#define FDT_END 9
#define FDT_MAX_DEPTH 16

/* SBI v1.0: extension ids and function ids. */
#define SBI_EXT_BASE 0x10
#define SBI_BASE_GET_SPEC_VERSION 0
#define SBI_BASE_GET_IMPL_ID 1
#define SBI_BASE_GET_IMPL_VERSION 2
#define SBI_EXT_HSM 0x48534d
#define SBI_HSM_HART_START 0
#define SBI_HSM_HART_GET_STATUS 2
#define SBI_EXT_SRST 0x53525354
#define SBI_SRST_SHUTDOWN 0

/* ns16550: transmit holding register, line status register, THR-empty bit. */
#define UART_THR 0
#define UART_LSR 5
#define UART_LSR_THRE 0x20

extern u8 probe_stacks[];
extern void probe_secondary_entry(void);

struct sbiret {
	s64 error;
	s64 value;
};

static volatile u8 *uart = (volatile u8 *)FALLBACK_UART;
static volatile u32 print_lock;
static volatile u32 checked_in;
static u64 checked_in_harts[PROBE_MAX_HARTS];

static struct {
	const char *model;
	const u8 *compatible;
	u32 compatible_len;
	const char *bootargs;
	u64 mem_base[MAX_MEMORY], mem_size[MAX_MEMORY];
	const char *mem_name[MAX_MEMORY];
	u32 mem_count;
	u64 harts[PROBE_MAX_HARTS];
	u32 hart_count;
	u64 uart_base;
	u64 timebase;
} dt;

static struct sbiret sbi_call(u64 ext, u64 fid, u64 a0, u64 a1, u64 a2)
{
	register u64 r0 asm("a0") = a0;
	register u64 r1 asm("a1") = a1;
	register u64 r2 asm("a2") = a2;
	register u64 r6 asm("a6") = fid;
	register u64 r7 asm("a7") = ext;
	asm volatile("ecall" : "+r"(r0), "+r"(r1) : "r"(r2), "r"(r6), "r"(r7) : "memory");
	return (struct sbiret){ (s64)r0, (s64)r1 };
}

static u64 rdtime(void)
{
	u64 t;
	asm volatile("rdtime %0" : "=r"(t));
	return t;
}

static void lock(void)
{
	while (__atomic_exchange_n(&print_lock, 1, __ATOMIC_ACQUIRE))
		;
}

static void unlock(void)
{
	__atomic_store_n(&print_lock, 0, __ATOMIC_RELEASE);
}

static void putc(char c)
{
	while (!(uart[UART_LSR] & UART_LSR_THRE))
		;
	uart[UART_THR] = (u8)c;
}

static void puts(const char *s)
{
	while (*s) {
		if (*s == '\n')
			putc('\r');
		putc(*s++);
	}
}

static void puthex(u64 v)
{
	char buf[19];
	int i = 18;
	buf[i] = 0;
	do {
		buf[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	buf[--i] = 'x';
	buf[--i] = '0';
	puts(&buf[i]);
}

static void putdec(s64 v)
{
	char buf[24];
	int i = 23;
	int neg = v < 0;
	u64 u = neg ? (u64)(-v) : (u64)v;
	buf[i] = 0;
	do {
		buf[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (neg)
		buf[--i] = '-';
	puts(&buf[i]);
}

static u32 be32(const u8 *p)
{
	return ((u32)p[0] << 24) | ((u32)p[1] << 16) | ((u32)p[2] << 8) | p[3];
}

static u64 cells(const u8 *p, u32 n)
{
	u64 v = 0;
	for (u32 i = 0; i < n; i++)
		v = (v << 32) | be32(p + 4 * i);
	return v;
}

static u32 slen(const char *s)
{
	u32 n = 0;
	while (s[n])
		n++;
	return n;
}

static int seq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static int prefix(const char *s, const char *p)
{
	while (*p)
		if (*s++ != *p++)
			return 0;
	return 1;
}

/* True if the NUL-separated string list holds a string starting with want. */
static int list_has_prefix(const u8 *list, u32 len, const char *want)
{
	u32 i = 0;
	while (i < len) {
		const char *s = (const char *)list + i;
		if (prefix(s, want))
			return 1;
		i += slen(s) + 1;
	}
	return 0;
}

// Walks the flattened tree once and fills `dt`; values point into the blob.
static int parse_fdt(const u8 *fdt)
{
	if (be32(fdt) != FDT_MAGIC)
		return -1;
	const u8 *p = fdt + be32(fdt + 8);
	const char *strings = (const char *)fdt + be32(fdt + 12);
	u32 acells[FDT_MAX_DEPTH], scells[FDT_MAX_DEPTH];
	const char *names[FDT_MAX_DEPTH];
	/* Per-node state by depth: a node's properties come before its children. */
	u8 is_memory[FDT_MAX_DEPTH], is_cpu[FDT_MAX_DEPTH], enabled[FDT_MAX_DEPTH], is_uart[FDT_MAX_DEPTH];
	const u8 *reg[FDT_MAX_DEPTH];
	u32 reg_len[FDT_MAX_DEPTH];
	int d = 0;

	dt.timebase = DEFAULT_TIMEBASE;
	acells[0] = 2;
	scells[0] = 1;
	for (;;) {
		u32 token = be32(p);
		p += 4;
		if (token == FDT_BEGIN_NODE) {
			const char *name = (const char *)p;
			p += (slen(name) + 4) & ~3U;
			if (++d >= FDT_MAX_DEPTH)
				return -1;
			names[d] = name;
			acells[d] = 2;
			scells[d] = 1;
			is_memory[d] = is_cpu[d] = is_uart[d] = 0;
			enabled[d] = 1;
			reg[d] = 0;
			reg_len[d] = 0;
		} else if (token == FDT_END_NODE) {
			if (d < 1)
				return -1;
			u32 ac = acells[d - 1], sc = scells[d - 1];
			if (is_memory[d] && reg[d]) {
				for (u32 off = 0; off + 4 * (ac + sc) <= reg_len[d] && dt.mem_count < MAX_MEMORY; off += 4 * (ac + sc)) {
					dt.mem_base[dt.mem_count] = cells(reg[d] + off, ac);
					dt.mem_size[dt.mem_count] = cells(reg[d] + off + 4 * ac, sc);
					dt.mem_name[dt.mem_count] = names[d];
					dt.mem_count++;
				}
			}
			if (is_cpu[d] && enabled[d] && reg[d] && dt.hart_count < PROBE_MAX_HARTS)
				dt.harts[dt.hart_count++] = cells(reg[d], ac);
			if (is_uart[d] && enabled[d] && reg[d] && !dt.uart_base)
				dt.uart_base = cells(reg[d], ac);
			d--;
		} else if (token == FDT_PROP) {
			u32 len = be32(p), nameoff = be32(p + 4);
			const u8 *val = p + 8;
			const char *pname = strings + nameoff;
			p += 8 + ((len + 3) & ~3U);
			if (seq(pname, "#address-cells"))
				acells[d] = be32(val);
			else if (seq(pname, "#size-cells"))
				scells[d] = be32(val);
			else if (seq(pname, "reg")) {
				reg[d] = val;
				reg_len[d] = len;
			} else if (seq(pname, "status"))
				enabled[d] = seq((const char *)val, "okay") || seq((const char *)val, "ok");
			else if (seq(pname, "device_type")) {
				is_memory[d] = seq((const char *)val, "memory");
				is_cpu[d] = seq((const char *)val, "cpu");
			} else if (seq(pname, "compatible")) {
				if (d == 1) {
					dt.compatible = val;
					dt.compatible_len = len;
				}
				if (list_has_prefix(val, len, "ns16550"))
					is_uart[d] = 1;
			} else if (d == 1 && seq(pname, "model"))
				dt.model = (const char *)val;
			else if (d == 2 && seq(names[2], "chosen") && seq(pname, "bootargs"))
				dt.bootargs = (const char *)val;
			else if (d == 2 && seq(names[2], "cpus") && seq(pname, "timebase-frequency"))
				dt.timebase = cells(val, len / 4);
		} else if (token == FDT_NOP) {
			continue;
		} else if (token == FDT_END) {
			return 0;
		} else {
			return -1;
		}
	}
}

static void probe_line(const char *key)
{
	puts("vman-probe: ");
	puts(key);
	puts("=");
}

static int has_word(const char *s, const char *word)
{
	while (s && *s) {
		while (*s == ' ')
			s++;
		if (prefix(s, word)) {
			char end = s[slen(word)];
			if (end == 0 || end == ' ')
				return 1;
		}
		while (*s && *s != ' ')
			s++;
	}
	return 0;
}

void probe_secondary_main(u64 hartid)
{
	lock();
	probe_line("hart_up");
	puthex(hartid);
	puts("\n");
	u32 slot = checked_in;
	if (slot < PROBE_MAX_HARTS)
		checked_in_harts[slot] = hartid;
	__atomic_store_n(&checked_in, slot + 1, __ATOMIC_RELEASE);
	unlock();
	for (;;)
		asm volatile("wfi");
}

void probe_main(u64 hartid, const u8 *fdt)
{
	int parsed = parse_fdt(fdt);
	if (parsed == 0 && dt.uart_base)
		uart = (volatile u8 *)dt.uart_base;

	lock();
	puts("VMAN-PROBE-BEGIN\n");
	probe_line("arch");
	puts("riscv64\n");
	probe_line("payload");
	puts("vman-probe\n");
	probe_line("boot_hart");
	puthex(hartid);
	puts("\n");
	probe_line("dtb");
	puthex((u64)fdt);
	puts(parsed == 0 ? "\n" : " (bad magic or structure)\n");
	probe_line("uart");
	puthex((u64)uart);
	puts("\n");
	probe_line("model");
	puts(dt.model ? dt.model : "");
	puts("\n");
	probe_line("compatible");
	for (u32 i = 0; i < dt.compatible_len;) {
		const char *s = (const char *)dt.compatible + i;
		if (i)
			puts(" ");
		puts(s);
		i += slen(s) + 1;
	}
	puts("\n");
	for (u32 i = 0; i < dt.mem_count; i++) {
		puts("vman-probe: dt_memory.");
		puts(dt.mem_name[i]);
		puts("=");
		puthex(dt.mem_base[i]);
		puts("+");
		puthex(dt.mem_size[i]);
		puts("\n");
	}
	probe_line("dt_harts");
	for (u32 i = 0; i < dt.hart_count; i++) {
		if (i)
			puts(",");
		puthex(dt.harts[i]);
	}
	puts("\n");
	probe_line("bootargs");
	puts(dt.bootargs ? dt.bootargs : "");
	puts("\n");
	struct sbiret spec = sbi_call(SBI_EXT_BASE, SBI_BASE_GET_SPEC_VERSION, 0, 0, 0);
	struct sbiret impl = sbi_call(SBI_EXT_BASE, SBI_BASE_GET_IMPL_ID, 0, 0, 0);
	struct sbiret implv = sbi_call(SBI_EXT_BASE, SBI_BASE_GET_IMPL_VERSION, 0, 0, 0);
	probe_line("sbi_spec_version");
	putdec((spec.value >> 24) & 0x7f);
	puts(".");
	putdec(spec.value & 0xffffff);
	puts("\n");
	probe_line("sbi_impl");
	putdec(impl.value);
	puts(" version ");
	puthex((u64)implv.value);
	puts("\n");
	unlock();

	/* Start every other enabled hart of the tree, each on a stack of its own. */
	u32 started = 0;
	for (u32 i = 0; i < dt.hart_count; i++) {
		if (dt.harts[i] == hartid)
			continue;
		u64 stack_top = (u64)probe_stacks + (u64)(started + 2) * PROBE_STACK_SIZE;
		struct sbiret r = { -1, 0 };
		if (started + 2 <= PROBE_MAX_HARTS)
			r = sbi_call(SBI_EXT_HSM, SBI_HSM_HART_START, dt.harts[i], (u64)probe_secondary_entry, stack_top);
		lock();
		puts("vman-probe: hsm_start.");
		puthex(dt.harts[i]);
		puts("=");
		putdec(r.error);
		puts("\n");
		unlock();
		if (r.error == 0)
			started++;
	}
	u64 deadline = rdtime() + dt.timebase / 1000 * SECONDARY_TIMEOUT_MS;
	while (__atomic_load_n(&checked_in, __ATOMIC_ACQUIRE) < started && rdtime() < deadline)
		;

	/* A hart outside the tree must not be startable (OpenSBI: not in its hart list). */
	lock();
	for (u64 h = 0; h < MAX_HARTID_PROBED; h++) {
		int mine = 0;
		for (u32 i = 0; i < dt.hart_count; i++)
			mine |= dt.harts[i] == h;
		if (mine)
			continue;
		struct sbiret r = sbi_call(SBI_EXT_HSM, SBI_HSM_HART_START, h, (u64)probe_secondary_entry,
					   (u64)probe_stacks + PROBE_MAX_HARTS * PROBE_STACK_SIZE);
		puts("vman-probe: hsm_start_foreign.");
		puthex(h);
		puts("=");
		putdec(r.error);
		puts("\n");
		break;
	}
	probe_line("hsm_status");
	for (u64 h = 0; h < MAX_HARTID_PROBED; h++) {
		struct sbiret r = sbi_call(SBI_EXT_HSM, SBI_HSM_HART_GET_STATUS, h, 0, 0);
		if (h)
			puts(",");
		puthex(h);
		puts(":");
		if (r.error)
			puts("err"), putdec(r.error);
		else
			putdec(r.value);
	}
	puts("\n");
	u32 n = __atomic_load_n(&checked_in, __ATOMIC_ACQUIRE);
	probe_line("cpus_count");
	putdec(n + 1);
	puts("\n");
	probe_line("cpu_hwids");
	puthex(hartid);
	for (u32 i = 0; i < n && i < PROBE_MAX_HARTS; i++) {
		puts(",");
		puthex(checked_in_harts[i]);
	}
	puts("\n");
	puts("VMAN-PROBE-END\n");
	puts("VMAN-READY\n");
	unlock();

	if (has_word(dt.bootargs, "vman.after=poweroff")) {
		struct sbiret r = sbi_call(SBI_EXT_SRST, SBI_SRST_SHUTDOWN, 0, 0, 0);
		lock();
		puts("vman-probe: srst_shutdown=");
		putdec(r.error);
		puts("\n");
		unlock();
	}
	for (;;)
		asm volatile("wfi");
}
