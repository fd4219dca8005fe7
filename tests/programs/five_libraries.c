/* One static program that uses the five libraries of crossroot's sqlite, zstd, xz, libffi and
 * pcre2 recipes, each for something real, and says what it got. tests/more_recipes.rs links it
 * with `pkg-config --static` against a sysroot and runs it under qemu. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <ffi.h>
#include <lzma.h>
#include <pcre2.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <zstd.h>

static char input[4096];
static int failures;

static void check(int ok, const char *what) {
    if (!ok) {
        printf("FAILED: %s\n", what);
        failures++;
    }
}

static int row(void *out, int n, char **values, char **names) {
    (void)n;
    (void)names;
    snprintf(out, 64, "%s", values[0] ? values[0] : "NULL");
    return 0;
}

static void sqlite(void) {
    sqlite3 *db;
    char result[64] = "";
    char *err = NULL;
    check(sqlite3_open(":memory:", &db) == SQLITE_OK, "sqlite3_open");
    int rc = sqlite3_exec(db,
                          "CREATE TABLE t(x INTEGER);"
                          "INSERT INTO t VALUES (1), (2), (39);"
                          "SELECT sum(x) || ' from ' || count(*) || ' rows' FROM t;",
                          row, result, &err);
    check(rc == SQLITE_OK, err ? err : "sqlite3_exec");
    /* Full-text search: the recipe builds FTS5 in. */
    char found[64] = "";
    rc = sqlite3_exec(db,
                      "CREATE VIRTUAL TABLE doc USING fts5(body);"
                      "INSERT INTO doc VALUES ('static binaries'), ('dynamic linking'),"
                      " ('a static sysroot');"
                      "SELECT count(*) FROM doc WHERE doc MATCH 'static';",
                      row, found, &err);
    check(rc == SQLITE_OK, err ? err : "fts5");
    printf("sqlite %s: %s, fts5 matches %s\n", sqlite3_libversion(), result, found);
    sqlite3_close(db);
}

static void zstd(void) {
    static char packed[8192], unpacked[sizeof input];
    size_t n = ZSTD_compress(packed, sizeof packed, input, sizeof input, 3);
    check(!ZSTD_isError(n), "ZSTD_compress");
    size_t m = ZSTD_decompress(unpacked, sizeof unpacked, packed, n);
    check(!ZSTD_isError(m) && m == sizeof input && memcmp(input, unpacked, m) == 0,
          "zstd round trip");
    printf("zstd %s: %zu -> %zu -> %zu bytes\n", ZSTD_versionString(), sizeof input, n, m);
}

static void xz(void) {
    static uint8_t packed[8192], unpacked[sizeof input];
    size_t n = 0, in_pos = 0, m = 0;
    uint64_t memlimit = UINT64_MAX;
    lzma_ret rc = lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, NULL, (const uint8_t *)input,
                                          sizeof input, packed, &n, sizeof packed);
    check(rc == LZMA_OK, "lzma_easy_buffer_encode");
    rc = lzma_stream_buffer_decode(&memlimit, 0, NULL, packed, &in_pos, n, unpacked, &m,
                                   sizeof unpacked);
    check(rc == LZMA_OK && m == sizeof input && memcmp(input, unpacked, m) == 0,
          "xz round trip");
    printf("xz %s: %zu -> %zu -> %zu bytes\n", lzma_version_string(), sizeof input, n, m);
}

static double scale(int a, double b, long c) { return a * b + c; }

static void add_into(ffi_cif *cif, void *ret, void **args, void *data) {
    (void)cif;
    (void)data;
    *(ffi_arg *)ret = *(int *)args[0] + *(int *)args[1];
}

static void ffi(void) {
    ffi_cif cif;
    ffi_type *types[] = {&ffi_type_sint, &ffi_type_double, &ffi_type_slong};
    int a = 6;
    double b = 6.5;
    long c = 3;
    void *values[] = {&a, &b, &c};
    double result = 0;
    check(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 3, &ffi_type_double, types) == FFI_OK,
          "ffi_prep_cif");
    ffi_call(&cif, FFI_FN(scale), &result, values);
    check(result == 42.0, "ffi_call result");

    /* A closure: a C function pointer made at run time that calls back into add_into. */
    int (*add)(int, int) = NULL;
    ffi_cif closure_cif;
    ffi_type *ints[] = {&ffi_type_sint, &ffi_type_sint};
    ffi_closure *closure = ffi_closure_alloc(sizeof(ffi_closure), (void **)&add);
    check(closure != NULL, "ffi_closure_alloc");
    if (!closure) return;
    check(ffi_prep_cif(&closure_cif, FFI_DEFAULT_ABI, 2, &ffi_type_sint, ints) == FFI_OK,
          "ffi_prep_cif for the closure");
    check(ffi_prep_closure_loc(closure, &closure_cif, add_into, NULL, (void *)add) == FFI_OK,
          "ffi_prep_closure_loc");
    int sum = add(40, 2);
    check(sum == 42, "ffi closure result");
    ffi_closure_free(closure);
    printf("libffi: ffi_call scale(6, 6.5, 3) = %g, closure add(40, 2) = %d\n", result, sum);
}

static void pcre2(void) {
    char version[32] = "";
    int err;
    PCRE2_SIZE offset;
    uint32_t jit = 0;
    pcre2_config(PCRE2_CONFIG_VERSION, version);
    pcre2_config(PCRE2_CONFIG_JIT, &jit);
    pcre2_code *re = pcre2_compile((PCRE2_SPTR) "(?<user>[a-z.]+)@(?<host>[a-z]+\\.org)",
                                   PCRE2_ZERO_TERMINATED, 0, &err, &offset, NULL);
    check(re != NULL, "pcre2_compile");
    if (!re) return;
    int jitted = jit && pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) == 0;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    const char *subject = "mail jane.doe@example.org today";
    int rc = pcre2_match(re, (PCRE2_SPTR)subject, strlen(subject), 0, 0, md, NULL);
    check(rc == 3, "pcre2_match");
    PCRE2_UCHAR user[32] = "", host[32] = "";
    PCRE2_SIZE ul = sizeof user, hl = sizeof host;
    pcre2_substring_copy_byname(md, (PCRE2_SPTR) "user", user, &ul);
    pcre2_substring_copy_byname(md, (PCRE2_SPTR) "host", host, &hl);
    printf("pcre2 %s: user=%s host=%s jit=%s\n", version, user, host, jitted ? "yes" : "no");
    pcre2_match_data_free(md);
    pcre2_code_free(re);
}

int main(void) {
    for (size_t i = 0; i < sizeof input; i++) input[i] = "crossroot "[i % 10] ^ (char)(i / 640);
    sqlite();
    zstd();
    xz();
    ffi();
    pcre2();
    if (failures) return 1;
    printf("all five libraries work\n");
    return 0;
}
