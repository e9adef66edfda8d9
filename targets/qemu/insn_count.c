/*
 * tinyops instruction counter: a QEMU TCG plugin (plugin API version 1, QEMU 7.2).
 *
 * Counts every executed guest instruction with an inline 64-bit add and snapshots
 * the counter each time execution reaches one of two marker addresses. At exit it
 * prints, through QEMU's log (`-d plugin`, `-D FILE`), the instructions executed
 * between each start marker and the end marker that follows it:
 *
 *   tinyops-insn total=<all instructions>
 *   tinyops-insn window=<k> count=<instructions>
 *
 * Usage: -plugin libinsn_count.so,start=0xADDR,end=0xADDR
 *
 * QEMU 7.2 ships no plugin header, so the few API items used are declared here
 * (names, values and signatures as QEMU's qemu-plugin.h defines them).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

typedef uint64_t qemu_plugin_id_t;

typedef struct {
    const char *target_name;
    struct {
        int min;
        int cur;
    } version;
    bool system_emulation;
    union {
        struct {
            int smp_vcpus;
            int max_vcpus;
        } system;
    };
} qemu_info_t;

struct qemu_plugin_tb;
struct qemu_plugin_insn;

enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 = 0 };
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS = 0 };

typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn, enum qemu_plugin_op op, void *ptr,
                                                uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
void qemu_plugin_outs(const char *string);

EXPORT int qemu_plugin_version = 1;

/* The boards tinyops runs have one core, so one counter suffices. */
static uint64_t executed;
static uint64_t start_addr, end_addr;
static bool have_start, have_end;

#define MAX_WINDOWS 64
static uint64_t window_start;
static bool window_open;
static uint64_t windows[MAX_WINDOWS];
static unsigned n_windows;
static unsigned dropped_windows;

static void on_start(unsigned int vcpu, void *udata) {
    (void)vcpu;
    (void)udata;
    window_start = executed;
    window_open = true;
}

static void on_end(unsigned int vcpu, void *udata) {
    (void)vcpu;
    (void)udata;
    if (!window_open) {
        return;
    }
    window_open = false;
    if (n_windows < MAX_WINDOWS) {
        windows[n_windows++] = executed - window_start;
    } else {
        dropped_windows++;
    }
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &executed, 1);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        if (pc == start_addr) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_start, QEMU_PLUGIN_CB_NO_REGS, NULL);
        }
        if (pc == end_addr) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_end, QEMU_PLUGIN_CB_NO_REGS, NULL);
        }
    }
}

static void report_at_exit(qemu_plugin_id_t id, void *udata) {
    (void)id;
    (void)udata;
    char line[96];
    snprintf(line, sizeof line, "tinyops-insn total=%" PRIu64 "\n", executed);
    qemu_plugin_outs(line);
    for (unsigned k = 0; k < n_windows; k++) {
        snprintf(line, sizeof line, "tinyops-insn window=%u count=%" PRIu64 "\n", k, windows[k]);
        qemu_plugin_outs(line);
    }
    if (dropped_windows > 0) {
        snprintf(line, sizeof line, "tinyops-insn dropped=%u\n", dropped_windows);
        qemu_plugin_outs(line);
    }
}

/* Parses `key=0xHEX` (or decimal) into *out; returns false if `arg` is not `key=…`. */
static bool parse_addr(const char *arg, const char *key, uint64_t *out) {
    size_t k = strlen(key);
    if (strncmp(arg, key, k) != 0 || arg[k] != '=') {
        return false;
    }
    char *end = NULL;
    *out = strtoull(arg + k + 1, &end, 0);
    return end != NULL && *end == '\0' && end != arg + k + 1;
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (parse_addr(argv[i], "start", &start_addr)) {
            have_start = true;
        } else if (parse_addr(argv[i], "end", &end_addr)) {
            have_end = true;
        } else {
            fprintf(stderr, "tinyops insn_count plugin: unknown argument `%s` (expected start=ADDR,end=ADDR)\n",
                    argv[i]);
            return -1;
        }
    }
    if (!have_start || !have_end) {
        fprintf(stderr, "tinyops insn_count plugin: both start=ADDR and end=ADDR are required\n");
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, report_at_exit, NULL);
    return 0;
}
