/* lyrics-tri in freestanding C: the same functions as lyrics.lua, speaking the foxplug binary ABI
 * (docs/abi.md). Built twice by the Makefile beside it: gcc -> build/lyrics.so (native), and
 * clang --target=wasm32 -> build/lyrics.wasm. No libc, so the same source fits both.
 *
 * Memory: one static arena. Every buffer the host gets (a result, a host_call request) is allocated in it;
 * the host frees what it is handed, and the arena resets once nothing is live. Pointers crossing the ABI are
 * u32 offsets into the plugin's memory: wasm's linear memory, or natively the arena itself.
 */

typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;

#define HEAP_SIZE (256u * 1024u)
#define ALIGN 8u

#ifdef __wasm__
#define EXPORT(name) __attribute__((export_name(#name)))
__attribute__((import_module("foxplug"), import_name("host_call"))) u64 host_call(u32 name_ptr, u32 name_len,
                                                                                  u32 args_ptr, u32 args_len);
#else
#define EXPORT(name) __attribute__((visibility("default")))
typedef u64 (*host_call_fn)(u32 name_ptr, u32 name_len, u32 args_ptr, u32 args_len);
static host_call_fn host;
#endif

static u8 heap[HEAP_SIZE] __attribute__((aligned(8)));
static u32 top = ALIGN; /* offset 0 is never handed out: foxplug_alloc returns 0 for "no memory" */
static u32 live;

#ifdef __wasm__
static u32 off(const u8 *p) { return (u32)(unsigned long)p; }
static u8 *at(u32 offset) { return (u8 *)(unsigned long)offset; }
#else
static u32 off(const u8 *p) { return (u32)(p - heap); }
static u8 *at(u32 offset) { return heap + offset; }

EXPORT(foxplug_memory) u8 *foxplug_memory(u32 *size) {
    *size = HEAP_SIZE;
    return heap;
}

EXPORT(foxplug_host) void foxplug_host(host_call_fn fn) { host = fn; }

static u64 host_call(u32 name_ptr, u32 name_len, u32 args_ptr, u32 args_len) {
    return host ? host(name_ptr, name_len, args_ptr, args_len) : 0;
}
#endif

EXPORT(foxplug_abi_version) int foxplug_abi_version(void) { return 1; }

EXPORT(foxplug_alloc) u32 foxplug_alloc(u32 size) {
    u32 start = (top + ALIGN - 1) & ~(ALIGN - 1);
    if (size > HEAP_SIZE || start > HEAP_SIZE - size) return 0;
    top = start + size;
    live++;
    return off(heap + start);
}

EXPORT(foxplug_free) void foxplug_free(u32 ptr, u32 size) {
    (void)ptr;
    (void)size;
    if (live && --live == 0) top = ALIGN;
}

/* -- bytes and JSON text ------------------------------------------------------------------------------ */

typedef struct {
    const u8 *p;
    u32 n;
} Str;

#define S(literal) ((Str){(const u8 *)(literal), sizeof(literal) - 1})

static u64 pack(u32 ptr, u32 len) { return ((u64)ptr << 32) | len; }

static int equal(Str a, Str b) {
    if (a.n != b.n) return 0;
    for (u32 i = 0; i < a.n; i++)
        if (a.p[i] != b.p[i]) return 0;
    return 1;
}

static int starts_with(Str s, Str prefix) { return s.n >= prefix.n && equal((Str){s.p, prefix.n}, prefix); }

/* the parts, one after another, in a fresh buffer of the arena: (offset, length), or 0 */
static u64 join(const Str *parts, u32 count) {
    u32 n = 0;
    for (u32 i = 0; i < count; i++) n += parts[i].n;
    u32 o = foxplug_alloc(n);
    if (!o) return 0;
    u8 *d = at(o);
    for (u32 i = 0; i < count; i++)
        for (u32 j = 0; j < parts[i].n; j++) *d++ = parts[i].p[j];
    return pack(o, n);
}

static int is_space(u8 c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static u32 skip_space(Str s, u32 i) {
    while (i < s.n && is_space(s.p[i])) i++;
    return i;
}

/* the index just past the JSON value starting at i (s is well-formed: the host wrote it) */
static u32 skip_value(Str s, u32 i) {
    if (i >= s.n) return s.n;
    u8 c = s.p[i];
    if (c == '"') {
        for (i++; i < s.n && s.p[i] != '"'; i++)
            if (s.p[i] == '\\') i++;
        return i + 1;
    }
    if (c == '{' || c == '[') {
        u32 depth = 0;
        for (; i < s.n; i++) {
            c = s.p[i];
            if (c == '"') {
                i = skip_value(s, i) - 1;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if ((c == '}' || c == ']') && --depth == 0) {
                return i + 1;
            }
        }
        return s.n;
    }
    while (i < s.n && s.p[i] != ',' && s.p[i] != ']' && s.p[i] != '}' && !is_space(s.p[i])) i++;
    return i;
}

/* element `index` of a JSON array */
static int item(Str array, u32 index, Str *out) {
    u32 i = skip_space(array, 0);
    if (i >= array.n || array.p[i] != '[') return 0;
    i = skip_space(array, i + 1);
    for (u32 k = 0; i < array.n && array.p[i] != ']'; k++) {
        u32 end = skip_value(array, i);
        if (k == index) {
            *out = (Str){array.p + i, end - i};
            return 1;
        }
        i = skip_space(array, end);
        if (i < array.n && array.p[i] == ',') i = skip_space(array, i + 1);
    }
    return 0;
}

/* the value of `key` (written without escapes) in a JSON object */
static int field(Str object, Str key, Str *out) {
    u32 i = skip_space(object, 0);
    if (i >= object.n || object.p[i] != '{') return 0;
    i = skip_space(object, i + 1);
    while (i < object.n && object.p[i] == '"') {
        u32 key_end = skip_value(object, i);
        Str name = {object.p + i + 1, key_end - i - 2};
        i = skip_space(object, key_end);
        if (i >= object.n || object.p[i] != ':') return 0;
        i = skip_space(object, i + 1);
        u32 end = skip_value(object, i);
        if (equal(name, key)) {
            *out = (Str){object.p + i, end - i};
            return 1;
        }
        i = skip_space(object, end);
        if (i < object.n && object.p[i] == ',') i = skip_space(object, i + 1);
    }
    return 0;
}

/* -- the host ----------------------------------------------------------------------------------------- */

/* fox.<name>(args...) through the gate: its reply is {"ok": value} or {"error": message}, a buffer the
 * plugin now owns; 0 when the host could not answer */
static u64 fox(Str name, const Str *args, u32 count) {
    Str parts[8] = {name};
    for (u32 i = 0; i < count && i < 7; i++) parts[i + 1] = args[i];
    u64 request = join(parts, count + 1);
    if (!request) return 0;
    u32 o = (u32)(request >> 32), n = (u32)request;
    u64 reply = host_call(o, name.n, o + name.n, n - name.n);
    foxplug_free(o, n);
    return reply;
}

static Str view(u64 packed) { return (Str){at((u32)(packed >> 32)), (u32)packed}; }

/* -- the plugin's functions: each returns {"ok": value} or {"error": message} --------------------------- */

static const Str lyrics = S(
    "{\"ok\":{\"lrc\":\"[00:00.00]Row, row, row your boat,\\n"
    "[00:03.00]Gently down the stream.\\n"
    "[00:06.00]Merrily, merrily, merrily, merrily,\\n"
    "[00:09.00]Life is but a dream.\"}}");

static u64 reply(Str text) { return join(&text, 1); }

static u64 get_lyrics(Str args) {
    Str song, title;
    if (item(args, 0, &song) && field(song, S("title"), &title) && equal(title, S("\"Row, Row, Row Your Boat\"")))
        return reply(lyrics);
    return reply(S("{\"ok\":null}"));
}

static u64 echo(Str args) {
    Str value;
    if (!item(args, 0, &value)) return reply(S("{\"ok\":null}"));
    Str parts[] = {S("{\"ok\":"), value, S("}")};
    return join(parts, 3);
}

static u64 forward(u64 host_reply) { return host_reply ? host_reply : reply(S("{\"error\":\"the host did not answer\"}")); }

static u64 encode(Str args) {
    Str value = S("null");
    item(args, 0, &value);
    Str request[] = {S("["), value, S("]")};
    return forward(fox(S("json.encode"), request, 3));
}

static u64 remember(Str args) {
    Str key = S("null"), value = S("null");
    item(args, 0, &key);
    item(args, 1, &value);
    Str set[] = {S("["), key, S(","), value, S("]")};
    u64 stored = fox(S("storage.set"), set, 5);
    if (!stored || starts_with(view(stored), S("{\"error\""))) return forward(stored);
    foxplug_free((u32)(stored >> 32), (u32)stored);
    Str get[] = {S("["), key, S("]")};
    return forward(fox(S("storage.get"), get, 3));
}

static u64 pause_player(Str args) {
    (void)args;
    Str none[] = {S("[]")};
    return forward(fox(S("player.pause"), none, 1));
}

EXPORT(foxplug_info) u64 foxplug_info(void) {
    return reply(S("{\"id\":\"lyrics-tri\",\"version\":\"1.0.0\","
                   "\"exports\":[\"get_lyrics\",\"echo\",\"encode\",\"remember\",\"pause_player\"]}"));
}

EXPORT(foxplug_call) u64 foxplug_call(u32 name_ptr, u32 name_len, u32 args_ptr, u32 args_len) {
    Str name = {at(name_ptr), name_len}, args = {at(args_ptr), args_len};
    if (equal(name, S("get_lyrics"))) return get_lyrics(args);
    if (equal(name, S("echo"))) return echo(args);
    if (equal(name, S("encode"))) return encode(args);
    if (equal(name, S("remember"))) return remember(args);
    if (equal(name, S("pause_player"))) return pause_player(args);
    return reply(S("{\"error\":\"no such function\"}"));
}
