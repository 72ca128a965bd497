/* The apply path's per-event work for the common case, in C: decode a Debezium MySQL
 * change (op c/u/r) and map it with a table's column programs into the same `Mapped`,
 * `ChangeEvent` and `TargetOp` values the Python path builds (replicator/apply/fastpath.py
 * says when a table may take it; tests/unit/test_fastmap.py holds the two paths equal).
 *
 * Why C: in one Python process the apply rate of a table like `users` is bound by the
 * interpreter's own work per event (decode, dispatch, the generated mapping code), under
 * one GIL. Here that glue is C, and so is reading the envelope's JSON (read_envelope,
 * below: only the fields used are built, where orjson built all of them); the values are
 * the same Python objects the Python path makes (dicts and strings equal to orjson's, the
 * converters' UUIDs and datetimes), and every transform function and converter fallback
 * is still the Python one, called from here.
 *
 * Whatever this code does not recognise, or any error at all (a missing column, a
 * converter refusing a value, an unknown binlog file, schema drift), makes it give the
 * message to the Python path, which decodes and maps it again from its bytes and raises
 * the error that names the table, key and position. So this file never decides an
 * error; it only ever produces what the Python path would have produced.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#include <structmember.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* set once by setup(): the types and helpers the values are made of */
static PyObject *T_COORDS, *T_EVENT, *T_OP, *T_MAPPED, *T_UUID, *SAFE_UNKNOWN, *LOADS, *BINLOG_NUMBERS;
static int ready = 0;

static PyObject *S_topic, *S_partition, *S_offset, *S_key, *S_value, *S_op, *S_source, *S_before,
    *S_after, *S_connector, *S_mysql, *S_file, *S_pos, *S_row, *S_snapshot, *S_false, *S_False,
    *S_empty, *S_transaction, *S_id, *S_name, *S_db, *S_table, *S_ts_ms, *S_change, *S_upsert,
    *S_int, *S_is_safe;

/* a column program: (name, fetch kind, fetch argument, conversion kind, converter,
 * conversion parameters, default) -- fastpath.py builds them */
enum { FETCH_FIELD = 0, FETCH_CALL = 1, FETCH_ROW = 2, FETCH_ROW_TS = 3, FETCH_CONST = 4 };
enum { CONV_NONE = 0, CONV_CALL = 1, CONV_INT_NONZERO = 2, CONV_EPOCH_MS = 3, CONV_UUID_INT = 4 };

/* a table spec: (source name, database, table, known columns, legacy key columns,
 * qualified name, targets); a target: (table, contributor, creates_row, key columns,
 * column programs) */
enum { T_SOURCE_NAME, T_DATABASE, T_TABLE, T_KNOWN, T_LEGACY_KEY, T_QUALIFIED, T_TARGETS };
enum { G_TABLE, G_CONTRIBUTOR, G_CREATES_ROW, G_KEY, G_COLUMNS };

static PyObject *new_named(PyObject *type, Py_ssize_t n)
{
    /* what tuple.__new__(type, items) allocates, for a NamedTuple (no __dict__, no slots) */
    PyTypeObject *t = (PyTypeObject *)type;
    return t->tp_alloc(t, n);
}

static int str_equal(PyObject *a, PyObject *b)
{
    return PyUnicode_CheckExact(a) && PyUnicode_CheckExact(b) && PyUnicode_Compare(a, b) == 0;
}

/* a and b are the same object, or two str of the same text (then a dict takes them for the
 * same key): the batch functions' test for "the same topic as the last event" */
static inline int same_text(PyObject *a, PyObject *b)
{
    Py_ssize_t n;
    if (a == b)
        return 1;
    if (!PyUnicode_CheckExact(a) || !PyUnicode_CheckExact(b) || (n = PyUnicode_GET_LENGTH(a)) != PyUnicode_GET_LENGTH(b)
        || PyUnicode_KIND(a) != PyUnicode_KIND(b))
        return 0;
    return memcmp(PyUnicode_DATA(a), PyUnicode_DATA(b), (size_t)n * PyUnicode_KIND(a)) == 0;
}

/* a > b (1, 0, or -1 with an exception), in C for two ints that fit a long long */
static int greater(PyObject *a, PyObject *b)
{
    if (PyLong_CheckExact(a) && PyLong_CheckExact(b)) {
        int oa, ob;
        long long x = PyLong_AsLongLongAndOverflow(a, &oa), y = PyLong_AsLongLongAndOverflow(b, &ob);
        if (!oa && !ob && !PyErr_Occurred())
            return x > y;
        PyErr_Clear();
    }
    return PyObject_RichCompareBool(a, b, Py_GT);
}

/* the row's value of `field`, a new reference; NULL (KeyError or error) when missing */
static PyObject *field_of(PyObject *row, PyObject *field)
{
    PyObject *v = PyDict_GetItemWithError(row, field);
    if (v == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetObject(PyExc_KeyError, field);
        return NULL;
    }
    Py_INCREF(v);
    return v;
}

static PyObject *fetch(PyObject *col, PyObject *row, PyObject *ts)
{
    long kind = PyLong_AsLong(PyTuple_GET_ITEM(col, 1));
    PyObject *arg = PyTuple_GET_ITEM(col, 2);
    switch (kind) {
    case FETCH_FIELD:
        return field_of(row, arg);
    case FETCH_CALL: {
        PyObject *fn = PyTuple_GET_ITEM(arg, 0), *fields = PyTuple_GET_ITEM(arg, 1);
        Py_ssize_t n = PyTuple_GET_SIZE(fields), i;
        PyObject *args[8];
        PyObject *out = NULL;
        if (n > 8) {
            PyErr_SetString(PyExc_ValueError, "more than 8 arguments");
            return NULL;
        }
        for (i = 0; i < n; i++) {
            args[i] = field_of(row, PyTuple_GET_ITEM(fields, i));
            if (args[i] == NULL)
                goto done;
        }
        out = PyObject_Vectorcall(fn, args, n, NULL);
    done:
        while (i-- > 0)
            Py_DECREF(args[i]);
        return out;
    }
    case FETCH_ROW:
        return PyObject_CallOneArg(arg, row);
    case FETCH_ROW_TS: {
        PyObject *args[2] = {row, ts};
        return PyObject_Vectorcall(arg, args, 2, NULL);
    }
    case FETCH_CONST:
        Py_INCREF(arg);
        return arg;
    }
    PyErr_SetString(PyExc_ValueError, "unknown fetch kind");
    return NULL;
}

/* lo < v < hi for an exact int v and bounds that fit a long long; *x is v then.
 * PyLong_AsLongLongAndOverflow, not PyLong_AsLongLong: for an int of more than one
 * digit (an epoch in milliseconds) the latter goes through _PyLong_AsByteArray */
static int int_within(PyObject *v, long long lo, long long hi, long long *x)
{
    int overflow = 0;
    *x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (overflow || (*x == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return 0;
    }
    return lo < *x && *x < hi;
}

/* a bound of a column's parameters (fastpath.column_code: ints that fit a long long) */
static long long bound(PyObject *v)
{
    int overflow = 0;
    return PyLong_AsLongLongAndOverflow(v, &overflow);
}

/* the UTC datetime `ms` milliseconds after 1970-01-01, built from its fields: what
 * datetime.fromtimestamp(ms / 1000, timezone.utc) gives for |ms| < 2**42, where the float
 * division is exact to the microsecond (convert._EXACT_FLOAT_MS) */
static PyObject *utc_of_epoch_ms(long long ms)
{
    long long days = ms / 86400000LL, rem = ms % 86400000LL, z, era, y;
    unsigned doe, yoe, doy, mp, d, m;
    if (rem < 0)
        rem += 86400000LL, days -= 1;
    /* H. Hinnant's civil_from_days */
    z = days + 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = (long long)yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    return PyDateTimeAPI->DateTime_FromDateAndTime((int)y, (int)m, (int)d, (int)(rem / 3600000LL),
                                                   (int)(rem / 60000LL % 60), (int)(rem / 1000LL % 60),
                                                   (int)(rem % 1000LL * 1000LL), PyDateTime_TimeZone_UTC,
                                                   PyDateTimeAPI->DateTimeType);
}

/* where uuid.UUID keeps its `int` and `is_safe` slots (its __slots__' member
 * descriptors), found by setup(); -1 when they are not plain object slots */
static Py_ssize_t UUID_INT_AT = -1, UUID_SAFE_AT = -1;

static Py_ssize_t slot_offset(PyObject *type, const char *name)
{
    PyObject *d = PyObject_GetAttrString(type, name);
    Py_ssize_t at = -1;
    if (d == NULL) {
        PyErr_Clear();
        return -1;
    }
    if (Py_IS_TYPE(d, &PyMemberDescr_Type)) {
        PyMemberDef *m = ((PyMemberDescrObject *)d)->d_member;
        if (m->type == T_OBJECT_EX && !(m->flags & READONLY))
            at = m->offset;
    }
    Py_DECREF(d);
    return at;
}

#define SLOT(obj, at) (*(PyObject **)((char *)(obj) + (at)))

static PyObject *uuid_of_int(PyObject *n)
{
    /* object.__new__(UUID) and the two slots, as keys._uuid_of_int does */
    PyTypeObject *t = (PyTypeObject *)T_UUID;
    PyObject *u = t->tp_alloc(t, 0);
    if (u == NULL)
        return NULL;
    if (UUID_INT_AT >= 0 && UUID_SAFE_AT >= 0) {
        Py_INCREF(n);
        SLOT(u, UUID_INT_AT) = n;
        Py_INCREF(SAFE_UNKNOWN);
        SLOT(u, UUID_SAFE_AT) = SAFE_UNKNOWN;
    }
    else if (PyObject_GenericSetAttr(u, S_int, n) < 0 || PyObject_GenericSetAttr(u, S_is_safe, SAFE_UNKNOWN) < 0) {
        Py_DECREF(u);
        return NULL;
    }
    return u;
}

/* hash(v), without a call into Python for a uuid.UUID, whose __hash__ is hash(self.int):
 * its int is read from its slot; a tuple is hashed as CPython hashes one (tuplehash),
 * over those hashes. setup() checks it gives hash() on a key like a batch's, else it is
 * not used (HASH_OK). */
static int HASH_OK = 0;

static Py_hash_t value_hash(PyObject *v)
{
    if (Py_IS_TYPE(v, (PyTypeObject *)T_UUID) && UUID_INT_AT >= 0) {
        PyObject *n = SLOT(v, UUID_INT_AT);
        if (n != NULL)
            return PyObject_Hash(n);
    }
    else if (PyTuple_CheckExact(v)) {
        /* Objects/tupleobject.c, tuplehash (3.8 and later: xxHash's round) */
        Py_ssize_t i, len = PyTuple_GET_SIZE(v);
        Py_uhash_t acc = (Py_uhash_t)2870177450012600261ULL;
        for (i = 0; i < len; i++) {
            Py_uhash_t lane = (Py_uhash_t)value_hash(PyTuple_GET_ITEM(v, i));
            if (lane == (Py_uhash_t)-1)
                return -1;
            acc += lane * (Py_uhash_t)14029467366897019727ULL;
            acc = (acc << 31) | (acc >> 33);
            acc *= (Py_uhash_t)11400714785074694791ULL;
        }
        acc += len ^ ((Py_uhash_t)2870177450012600261ULL ^ 3527539UL);
        if (acc == (Py_uhash_t)-1)
            return 1546275796;
        return (Py_hash_t)acc;
    }
    return PyObject_Hash(v);
}

/* the converter's common case in place of a call (mapping/inline.py), else the call */
static PyObject *convert(PyObject *col, PyObject *v)
{
    long kind = PyLong_AsLong(PyTuple_GET_ITEM(col, 3));
    PyObject *conv = PyTuple_GET_ITEM(col, 4), *params = PyTuple_GET_ITEM(col, 5);
    switch (kind) {
    case CONV_NONE:
        Py_INCREF(v);
        return v;
    case CONV_INT_NONZERO:
        /* type(v) is int -> v != 0 */
        if (PyLong_CheckExact(v)) {
            int truth = PyObject_IsTrue(v);
            return truth < 0 ? NULL : PyBool_FromLong(truth);
        }
        break;
    case CONV_EPOCH_MS: {
        /* type(v) is int and v and -EXACT < v < EXACT -> fromtimestamp(v / 1000, UTC), the
         * datetime built from its fields (fastpath.column_code checked the two are those) */
        long long exact = bound(PyTuple_GET_ITEM(params, 0)), ms;
        if (PyLong_CheckExact(v) && int_within(v, -exact, exact, &ms)) {
            if (ms != 0)
                return utc_of_epoch_ms(ms);
        }
        break;
    }
    case CONV_UUID_INT: {
        /* type(v) is int and 0 <= v < LIMIT -> uuid_of_int(prefix | v) */
        long long limit = bound(PyTuple_GET_ITEM(params, 0)), id;
        if (PyLong_CheckExact(v) && int_within(v, -1, limit, &id)) {
            PyObject *n = PyNumber_Or(PyTuple_GET_ITEM(params, 1), v), *u;
            if (n == NULL)
                return NULL;
            u = uuid_of_int(n);
            Py_DECREF(n);
            return u;
        }
        break;
    }
    case CONV_CALL:
        break;
    default:
        PyErr_SetString(PyExc_ValueError, "unknown conversion kind");
        return NULL;
    }
    return PyObject_CallOneArg(conv, v);
}

static PyObject *column_value(PyObject *col, PyObject *row, PyObject *ts)
{
    PyObject *raw = fetch(col, row, ts), *v, *dflt;
    if (raw == NULL)
        return NULL;
    v = convert(col, raw);
    Py_DECREF(raw);
    if (v == NULL)
        return NULL;
    dflt = PyTuple_GET_ITEM(col, 6);  /* a 1-tuple (the default for NULL) or () */
    if (v == Py_None && PyTuple_GET_SIZE(dflt) == 1) {
        Py_DECREF(v);
        v = PyTuple_GET_ITEM(dflt, 0);
        Py_INCREF(v);
    }
    return v;
}

/* source.get(name, "") when it is a str; NULL (no error set) otherwise */
/* ---- reading a Debezium envelope's JSON: only what fast_one needs, in one pass ----
 *
 * orjson builds every object of the envelope (the source block's dozen fields, the
 * envelope itself) as dicts and strings that fast_one reads five of and then frees:
 * measured, the parse and that teardown were a third of the per-event work in C. This
 * reader builds the row images (`before`, `after`) as dicts, and from the rest only the
 * values fast_one reads; everything else is checked and skipped.
 *
 * It is strict and narrow: it accepts only what orjson accepts (RFC 8259 JSON, UTF-8),
 * and gives up (NULL: the message takes the Python path, which parses it with orjson)
 * on whatever it does not need to handle: a nested value in a row image, an escaped or
 * non-ASCII key outside the row images, an integer of more than 19 digits, a float
 * orjson would refuse, a column not among the table's known columns (schema drift: the
 * Python path reports it). tests/unit/test_fastmap.py holds it equal to orjson. */

typedef struct {
    const char *p, *end;
} Scan;

/* what read_envelope found: new references, NULL where the field was absent */
typedef struct {
    PyObject *op, *before, *after, *tx_id;
    int has_before, has_tx, tx_is_object;
    PyObject *connector, *name, *db, *table, *file, *pos, *row, *snapshot, *ts_ms;
    int has_source;
} Envelope;

#define SCAN_MAX_DEPTH 64

static inline void scan_ws(Scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

static inline int scan_eat(Scan *s, char c)
{
    scan_ws(s);
    if (s->p < s->end && *s->p == c) {
        s->p++;
        return 1;
    }
    return 0;
}

static inline int scan_literal(Scan *s, const char *lit, Py_ssize_t n)
{
    if (s->end - s->p >= n && memcmp(s->p, lit, n) == 0) {
        s->p += n;
        return 1;
    }
    return 0;
}

/* a string at s->p (its opening quote): the bytes between the quotes, and whether they
 * hold an escape or a byte beyond ASCII; 0 when it is not a well-formed JSON string
 * (unterminated, a raw control character) */
static int scan_span(Scan *s, const char **start, Py_ssize_t *len, int *escaped, int *high)
{
    const char *p = s->p;
    if (p >= s->end || *p != '"')
        return 0;
    *start = ++p;
    *escaped = *high = 0;
#if defined(__SSE2__)
    {
        /* 16 bytes at a time, while 16 are left: the first quote, backslash or control
         * byte, and whether a byte >= 0x80 comes before it; the scalar loop below takes it
         * from there (and the last few bytes of the buffer) */
        const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), ctl = _mm_set1_epi8(0x1f);
        while (s->end - p >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)p);
            int hi = _mm_movemask_epi8(v);  /* the sign bits: bytes >= 0x80 */
            int stop = _mm_movemask_epi8(_mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                _mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl)));  /* bytes <= 0x1f, unsigned */
            if (stop == 0) {
                *high |= hi != 0;
                p += 16;
                continue;
            }
            stop = __builtin_ctz(stop);
            *high |= (hi & ((1 << stop) - 1)) != 0;
            p += stop;
            break;
        }
    }
#endif
    while (p < s->end) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') {
            *len = p - *start;
            s->p = p + 1;
            return 1;
        }
        if (c == '\\') {
            *escaped = 1;
            p += 2;  /* the escape's kind is checked when decoded */
            continue;
        }
        if (c < 0x20)
            return 0;
        if (c >= 0x80)
            *high = 1;
        p++;
    }
    return 0;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return 0;
    }
    *out = v;
    return 1;
}

/* the str of a span scan_span found; NULL (perhaps with an exception) when orjson would
 * refuse it: a bad escape, a lone surrogate, bytes that are not UTF-8 */
static PyObject *span_str(const char *start, Py_ssize_t len, int escaped, int high)
{
    if (!escaped) {
        if (high)
            return PyUnicode_DecodeUTF8(start, len, NULL);
        PyObject *out = PyUnicode_New(len, 127);
        if (out != NULL)
            memcpy(PyUnicode_DATA(out), start, len);
        return out;
    }
    /* unescaped, a string is never longer than escaped: \uXXXX (6 bytes) is at most 3
     * bytes of UTF-8, and a surrogate pair (12) is 4 */
    char stack[256], *buf = len <= (Py_ssize_t)sizeof stack ? stack : PyMem_Malloc(len);
    const char *p = start, *end = start + len;
    Py_ssize_t n = 0;
    PyObject *out = NULL;
    if (buf == NULL)
        return PyErr_NoMemory();
    while (p < end) {
        char c = *p++;
        if (c != '\\') {
            buf[n++] = c;
            continue;
        }
        if (p >= end)
            goto done;
        switch (*p++) {
        case '"': buf[n++] = '"'; break;
        case '\\': buf[n++] = '\\'; break;
        case '/': buf[n++] = '/'; break;
        case 'b': buf[n++] = '\b'; break;
        case 'f': buf[n++] = '\f'; break;
        case 'n': buf[n++] = '\n'; break;
        case 'r': buf[n++] = '\r'; break;
        case 't': buf[n++] = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (end - p < 4 || !hex4(p, &cp))
                goto done;
            p += 4;
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                goto done;  /* a lone low surrogate */
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || !hex4(p + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                    goto done;  /* a high surrogate without its low half */
                p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (cp < 0x80)
                buf[n++] = (char)cp;
            else if (cp < 0x800) {
                buf[n++] = (char)(0xC0 | (cp >> 6));
                buf[n++] = (char)(0x80 | (cp & 0x3F));
            }
            else if (cp < 0x10000) {
                buf[n++] = (char)(0xE0 | (cp >> 12));
                buf[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                buf[n++] = (char)(0x80 | (cp & 0x3F));
            }
            else {
                buf[n++] = (char)(0xF0 | (cp >> 18));
                buf[n++] = (char)(0x80 | ((cp >> 12) & 0x3F));
                buf[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                buf[n++] = (char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default:
            goto done;
        }
    }
    out = PyUnicode_DecodeUTF8(buf, n, NULL);
done:
    if (buf != stack)
        PyMem_Free(buf);
    return out;
}

static PyObject *scan_string(Scan *s)
{
    const char *start;
    Py_ssize_t len;
    int escaped, high;
    if (!scan_span(s, &start, &len, &escaped, &high))
        return NULL;
    return span_str(start, len, escaped, high);
}

static inline int is_digit(const char *p, const char *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

/* a JSON number: an int of at most 19 digits within int64 (or up to 10**19 - 1 when positive), or a finite float; NULL otherwise */
static PyObject *scan_number(Scan *s)
{
    const char *p = s->p, *start = p, *digits;
    int is_float = 0, neg = 0;
    if (p < s->end && *p == '-') {
        neg = 1;
        p++;
    }
    digits = p;
    if (!is_digit(p, s->end))
        return NULL;
    if (*p == '0')
        p++;
    else
        while (is_digit(p, s->end))
            p++;
    if (p < s->end && *p == '.') {
        is_float = 1;
        if (!is_digit(++p, s->end))
            return NULL;
        while (is_digit(p, s->end))
            p++;
    }
    if (p < s->end && (*p == 'e' || *p == 'E')) {
        is_float = 1;
        p++;
        if (p < s->end && (*p == '+' || *p == '-'))
            p++;
        if (!is_digit(p, s->end))
            return NULL;
        while (is_digit(p, s->end))
            p++;
    }
    s->p = p;
    if (!is_float) {
        /* 19 digits fit 64 bits unsigned; orjson reads an integer beyond int64's range
         * (below it, or above uint64's) as a float: that one is the Python path's */
        unsigned long long v = 0;
        if (p - digits > 19)
            return NULL;
        for (const char *q = digits; q < p; q++)
            v = v * 10 + (unsigned long long)(*q - '0');
        if (!neg)
            return PyLong_FromUnsignedLongLong(v);
        if (v > 9223372036854775808ULL)
            return NULL;
        return PyLong_FromLongLong(v == 9223372036854775808ULL ? LLONG_MIN : -(long long)v);
    }
    {
        char buf[64];
        double d;
        if (p - start >= (Py_ssize_t)sizeof buf)
            return NULL;
        memcpy(buf, start, p - start);
        buf[p - start] = '\0';
        d = PyOS_string_to_double(buf, NULL, NULL);
        if ((d == -1.0 && PyErr_Occurred()) || !isfinite(d))
            return NULL;  /* orjson refuses a number that is infinite as a double */
        return PyFloat_FromDouble(d);
    }
}

/* a string, number, true, false or null; NULL for an object or an array (and for what
 * is not JSON) */
static PyObject *scan_scalar(Scan *s)
{
    scan_ws(s);
    if (s->p >= s->end)
        return NULL;
    switch (*s->p) {
    case '"':
        return scan_string(s);
    case 't':
        return scan_literal(s, "true", 4) ? Py_NewRef(Py_True) : NULL;
    case 'f':
        return scan_literal(s, "false", 5) ? Py_NewRef(Py_False) : NULL;
    case 'n':
        return scan_literal(s, "null", 4) ? Py_NewRef(Py_None) : NULL;
    case '{': case '[':
        return NULL;
    }
    return scan_number(s);
}

/* past any JSON value, checking it as orjson would; 0 when it is not JSON (or not one
 * this reader takes) */
static int scan_skip(Scan *s, int depth)
{
    const char *start;
    Py_ssize_t len;
    int escaped, high;
    scan_ws(s);
    if (s->p >= s->end || depth > SCAN_MAX_DEPTH)
        return 0;
    if (*s->p == '{' || *s->p == '[') {
        char close = *s->p == '{' ? '}' : ']';
        s->p++;
        if (scan_eat(s, close))
            return 1;
        do {
            if (close == '}') {
                PyObject *k;
                scan_ws(s);
                if ((k = scan_string(s)) == NULL)
                    return 0;
                Py_DECREF(k);
                if (!scan_eat(s, ':'))
                    return 0;
            }
            if (!scan_skip(s, depth + 1))
                return 0;
        } while (scan_eat(s, ','));
        return scan_eat(s, close);
    }
    if (*s->p == '"') {
        if (!scan_span(s, &start, &len, &escaped, &high))
            return 0;
        if (escaped || high) {  /* check it decodes */
            PyObject *v = span_str(start, len, escaped, high);
            if (v == NULL)
                return 0;
            Py_DECREF(v);
        }
        return 1;
    }
    {
        PyObject *v = scan_scalar(s);
        if (v == NULL)
            return 0;
        Py_DECREF(v);
        return 1;
    }
}

/* an object key made of plain ASCII (no escape), as a span; 0 otherwise */
static int scan_plain_key(Scan *s, const char **start, Py_ssize_t *len)
{
    int escaped, high;
    scan_ws(s);
    if (!scan_span(s, start, len, &escaped, &high) || escaped || high)
        return 0;
    return scan_eat(s, ':');
}

#define KEY_IS(start, len, lit) ((len) == (Py_ssize_t)(sizeof(lit) - 1) && memcmp((start), (lit), (len)) == 0)

/* a row image, a flat object, into a new dict. Its keys are matched against `known`
 * (a tuple of str: the table's known columns); an unknown key gives up when `strict`
 * (schema drift in `after` is the Python path's to report), else it is decoded. */
static PyObject *scan_row(Scan *s, PyObject *known, int strict)
{
    Py_ssize_t n_known = PyTuple_GET_SIZE(known), hint = 0;
    PyObject *row;
    if (!scan_eat(s, '{'))
        return NULL;
    if ((row = PyDict_New()) == NULL)
        return NULL;
    if (scan_eat(s, '}'))
        return row;
    do {
        const char *start;
        Py_ssize_t len, i;
        int escaped, high, rc;
        PyObject *name = NULL, *v;
        scan_ws(s);
        if (!scan_span(s, &start, &len, &escaped, &high))
            goto fail;
        if (!escaped) {
            /* columns arrive in the same order event after event: look from the last match on */
            for (i = 0; i < n_known; i++) {
                PyObject *cand = PyTuple_GET_ITEM(known, (hint + i) % n_known);
                Py_ssize_t clen;
                const char *c;
                if (PyUnicode_IS_COMPACT_ASCII(cand))  /* column names are: their bytes are their UTF-8 */
                    c = (const char *)PyUnicode_DATA(cand), clen = PyUnicode_GET_LENGTH(cand);
                else if ((c = PyUnicode_AsUTF8AndSize(cand, &clen)) == NULL)
                    goto fail;
                if (clen == len && memcmp(c, start, len) == 0) {
                    name = Py_NewRef(cand);
                    hint = (hint + i + 1) % n_known;
                    break;
                }
            }
        }
        if (name == NULL) {
            if (strict || (name = span_str(start, len, escaped, high)) == NULL)
                goto fail;
        }
        if (!scan_eat(s, ':') || (v = scan_scalar(s)) == NULL) {
            Py_DECREF(name);
            goto fail;
        }
        rc = PyDict_SetItem(row, name, v);
        Py_DECREF(name);
        Py_DECREF(v);
        if (rc < 0)
            goto fail;
    } while (scan_eat(s, ','));
    if (scan_eat(s, '}'))
        return row;
fail:
    Py_DECREF(row);
    return NULL;
}

/* a field the envelope may repeat: the last one counts, as in orjson's dict */
static int scan_field(Scan *s, PyObject **slot)
{
    PyObject *v = scan_scalar(s);
    if (v == NULL)
        return 0;
    Py_XSETREF(*slot, v);
    return 1;
}

static int scan_source(Scan *s, Envelope *e)
{
    const char *k;
    Py_ssize_t n;
    if (!scan_eat(s, '{'))
        return 0;
    if (scan_eat(s, '}'))
        return 1;
    do {
        PyObject **slot = NULL;
        if (!scan_plain_key(s, &k, &n))
            return 0;
        switch (n) {
        case 2: if (KEY_IS(k, n, "db")) slot = &e->db; break;
        case 3: if (KEY_IS(k, n, "pos")) slot = &e->pos; else if (KEY_IS(k, n, "row")) slot = &e->row; break;
        case 4: if (KEY_IS(k, n, "name")) slot = &e->name; else if (KEY_IS(k, n, "file")) slot = &e->file; break;
        case 5: if (KEY_IS(k, n, "table")) slot = &e->table; else if (KEY_IS(k, n, "ts_ms")) slot = &e->ts_ms; break;
        case 8: if (KEY_IS(k, n, "snapshot")) slot = &e->snapshot; break;
        case 9: if (KEY_IS(k, n, "connector")) slot = &e->connector; break;
        }
        if (slot != NULL ? !scan_field(s, slot) : !scan_skip(s, 2))
            return 0;
    } while (scan_eat(s, ','));
    return scan_eat(s, '}');
}

static int scan_transaction(Scan *s, Envelope *e)
{
    const char *k;
    Py_ssize_t n;
    scan_ws(s);
    if (s->p >= s->end || *s->p != '{') {  /* not an object: no transaction id, as before */
        e->tx_is_object = 0;
        Py_CLEAR(e->tx_id);
        return scan_skip(s, 1);
    }
    e->tx_is_object = 1;
    Py_CLEAR(e->tx_id);
    s->p++;
    if (scan_eat(s, '}'))
        return 1;
    do {
        if (!scan_plain_key(s, &k, &n))
            return 0;
        if (KEY_IS(k, n, "id") ? !scan_field(s, &e->tx_id) : !scan_skip(s, 2))
            return 0;
    } while (scan_eat(s, ','));
    return scan_eat(s, '}');
}

static void envelope_clear(Envelope *e)
{
    Py_CLEAR(e->op); Py_CLEAR(e->before); Py_CLEAR(e->after); Py_CLEAR(e->tx_id);
    Py_CLEAR(e->connector); Py_CLEAR(e->name); Py_CLEAR(e->db); Py_CLEAR(e->table); Py_CLEAR(e->file);
    Py_CLEAR(e->pos); Py_CLEAR(e->row); Py_CLEAR(e->snapshot); Py_CLEAR(e->ts_ms);
}

/* the envelope in `data`; 0 (and `e` cleared) when the Python path must read it. `after`
 * must be an object (else 0); `before` is kept only when it is one (as fast_one did). */
static int read_envelope(const char *data, Py_ssize_t size, PyObject *known, Envelope *e)
{
    Scan s = {data, data + size};
    const char *k;
    Py_ssize_t n;
    memset(e, 0, sizeof *e);
    if (!scan_eat(&s, '{'))
        goto fail;
    if (!scan_eat(&s, '}')) {
        do {
            if (!scan_plain_key(&s, &k, &n))
                goto fail;
            if (KEY_IS(k, n, "op")) {
                if (!scan_field(&s, &e->op))
                    goto fail;
            }
            else if (KEY_IS(k, n, "after")) {
                PyObject *row = scan_row(&s, known, 1);
                if (row == NULL)
                    goto fail;
                Py_XSETREF(e->after, row);
            }
            else if (KEY_IS(k, n, "before")) {
                scan_ws(&s);
                e->has_before = 1;
                Py_CLEAR(e->before);
                if (s.p < s.end && *s.p == '{') {
                    if ((e->before = scan_row(&s, known, 0)) == NULL)
                        goto fail;
                }
                else if (!scan_skip(&s, 1))
                    goto fail;
            }
            else if (KEY_IS(k, n, "source")) {
                /* a second source block replaces the first whole, as in a dict */
                Py_CLEAR(e->connector); Py_CLEAR(e->name); Py_CLEAR(e->db); Py_CLEAR(e->table);
                Py_CLEAR(e->file); Py_CLEAR(e->pos); Py_CLEAR(e->row); Py_CLEAR(e->snapshot); Py_CLEAR(e->ts_ms);
                e->has_source = 1;
                if (!scan_source(&s, e))
                    goto fail;
            }
            else if (KEY_IS(k, n, "transaction")) {
                e->has_tx = 1;
                if (!scan_transaction(&s, e))
                    goto fail;
            }
            else if (!scan_skip(&s, 1))
                goto fail;
        } while (scan_eat(&s, ','));
        if (!scan_eat(&s, '}'))
            goto fail;
    }
    scan_ws(&s);
    if (s.p != s.end)
        goto fail;  /* content after the document */
    return 1;
fail:
    envelope_clear(e);
    return 0;
}

/* a message key that is a flat JSON object (Debezium's: the source's primary key), read as
 * orjson reads it, its known names (`known`, the legacy key columns) reused; NULL (no
 * error set) when it is anything else: the caller hands it to orjson */
static PyObject *read_key(const char *data, Py_ssize_t size, PyObject *known)
{
    Scan s = {data, data + size};
    PyObject *key;
    scan_ws(&s);
    if ((key = scan_row(&s, known, 0)) == NULL) {
        PyErr_Clear();
        return NULL;
    }
    scan_ws(&s);
    if (s.p != s.end) {  /* content after the document */
        Py_DECREF(key);
        return NULL;
    }
    return key;
}

/* the last binlog file fast_one met, and its number (events._binlog_numbers) */
static PyObject *last_file = NULL, *last_number = NULL;

/* One message through the fast path: a new `Mapped`, or NULL when the Python path must
 * take it (with or without an exception set: the caller clears it). */
static PyObject *fast_one(PyObject *msg, PyObject *topic, PyObject *spec)
{
    Envelope e;
    PyObject *value = NULL, *key = NULL, *key_obj = NULL, *position = NULL,
             *partition = NULL, *offset = NULL, *coords = NULL, *event = NULL, *tx_id = NULL,
             *legacy_key = NULL, *ops = NULL, *mapped = NULL;
    PyObject *op, *before, *after, *file, *pos, *row, *number, *snap, *name, *db,
             *table, *ts, *targets;
    Py_ssize_t i, j;
    int snapshot, new_row;

    memset(&e, 0, sizeof e);
    value = PyObject_CallMethodNoArgs(msg, S_value);
    if (value == NULL || !PyBytes_CheckExact(value))
        goto fail;
    if (!read_envelope(PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value), PyTuple_GET_ITEM(spec, T_KNOWN), &e))
        goto fail;
    op = e.op;
    if (op == NULL || !PyUnicode_CheckExact(op) || PyUnicode_GET_LENGTH(op) != 1)
        goto fail;
    switch (PyUnicode_READ_CHAR(op, 0)) {
    case 'c': case 'r': new_row = 1; break;
    case 'u': new_row = 0; break;
    default: goto fail;  /* deletes and the rest: the Python path */
    }
    if (!e.has_source || e.connector == NULL || !str_equal(e.connector, S_mysql))
        goto fail;
    after = e.after;  /* an object whose keys are all known columns (read_envelope) */
    if (after == NULL)
        goto fail;
    before = e.before != NULL ? e.before : Py_None;
    /* (binlog file number, pos, row): the file's number is known once the Python path
     * has seen the file (events._binlog_numbers) */
    file = e.file, pos = e.pos, row = e.row;
    if (file == NULL || pos == NULL || row == NULL || !PyUnicode_CheckExact(file)
        || !PyLong_CheckExact(pos) || !PyLong_CheckExact(row))
        goto fail;
    /* events of a batch come from a few binlog files: the last file's number is reused
     * when the name is the same (a file's number never changes), without hashing it */
    if (last_file != NULL && PyUnicode_IS_COMPACT_ASCII(file)
        && PyUnicode_GET_LENGTH(file) == PyUnicode_GET_LENGTH(last_file)
        && memcmp(PyUnicode_DATA(file), PyUnicode_DATA(last_file), PyUnicode_GET_LENGTH(file)) == 0)
        number = last_number;
    else {
        number = PyDict_GetItemWithError(BINLOG_NUMBERS, file);
        if (number == NULL)
            goto fail;
        if (PyUnicode_IS_COMPACT_ASCII(file)) {
            Py_XSETREF(last_file, Py_NewRef(file));
            Py_XSETREF(last_number, Py_NewRef(number));
        }
    }
    position = PyTuple_Pack(3, number, pos, row);
    if (position == NULL)
        goto fail;
    /* snapshot: "true", "first", "last"... for snapshot rows; false/null otherwise */
    snap = e.snapshot;
    if (snap == NULL || snap == Py_None || snap == Py_False)
        snapshot = 0;
    else if (snap == Py_True)
        snapshot = 1;
    else if (PyUnicode_CheckExact(snap))
        snapshot = !(PyUnicode_Compare(snap, S_false) == 0 || PyUnicode_Compare(snap, S_False) == 0
                     || PyUnicode_GET_LENGTH(snap) == 0);
    else
        goto fail;
    if (PyErr_Occurred())
        goto fail;
    if (e.tx_is_object && e.tx_id != NULL) {
        int truth = PyObject_IsTrue(e.tx_id);
        if (truth < 0)
            goto fail;
        if (truth && (tx_id = PyObject_Str(e.tx_id)) == NULL)
            goto fail;
    }
    /* a missing name, db or table reads as "" (which matches no mapping) */
    name = e.name == NULL ? S_empty : e.name;
    db = e.db == NULL ? S_empty : e.db;
    table = e.table == NULL ? S_empty : e.table;
    if (!PyUnicode_CheckExact(name) || !PyUnicode_CheckExact(db) || !PyUnicode_CheckExact(table))
        goto fail;
    /* the mapping this topic's events take, as MappingSet.map_event would find it */
    if (!str_equal(name, PyTuple_GET_ITEM(spec, T_SOURCE_NAME)) || !str_equal(db, PyTuple_GET_ITEM(spec, T_DATABASE))
        || !str_equal(table, PyTuple_GET_ITEM(spec, T_TABLE)))
        goto fail;
    ts = e.ts_ms == NULL ? Py_None : e.ts_ms;
    key = PyObject_CallMethodNoArgs(msg, S_key);
    if (key == NULL)
        goto fail;
    if (key != Py_None) {
        if (!PyBytes_CheckExact(key)
            || (key_obj = read_key(PyBytes_AS_STRING(key), PyBytes_GET_SIZE(key),
                                   PyTuple_GET_ITEM(spec, T_LEGACY_KEY))) == NULL)
            key_obj = PyObject_CallOneArg(LOADS, key);
        if (key_obj == NULL)
            goto fail;
        if (!PyDict_CheckExact(key_obj)) {
            Py_DECREF(key_obj);
            key_obj = NULL;
        }
    }
    partition = PyObject_CallMethodNoArgs(msg, S_partition);
    offset = PyObject_CallMethodNoArgs(msg, S_offset);
    if (partition == NULL || offset == NULL)
        goto fail;
    if ((coords = new_named(T_COORDS, 3)) == NULL)
        goto fail;
    Py_INCREF(topic); PyTuple_SET_ITEM(coords, 0, topic);
    PyTuple_SET_ITEM(coords, 1, partition); partition = NULL;
    PyTuple_SET_ITEM(coords, 2, offset); offset = NULL;

    /* the legacy key and the target operations (engine._compile_upserts) */
    {
        PyObject *fields = PyTuple_GET_ITEM(spec, T_LEGACY_KEY);
        Py_ssize_t n = PyTuple_GET_SIZE(fields);
        if ((legacy_key = PyTuple_New(n)) == NULL)
            goto fail;
        for (i = 0; i < n; i++) {
            PyObject *v = PyDict_GetItemWithError(after, PyTuple_GET_ITEM(fields, i));
            if (v == NULL) {
                if (PyErr_Occurred())
                    goto fail;
                v = Py_None;
            }
            Py_INCREF(v);
            PyTuple_SET_ITEM(legacy_key, i, v);
        }
    }
    targets = PyTuple_GET_ITEM(spec, T_TARGETS);
    if ((ops = PyList_New(PyTuple_GET_SIZE(targets))) == NULL)
        goto fail;
    for (i = 0; i < PyTuple_GET_SIZE(targets); i++) {
        PyObject *t = PyTuple_GET_ITEM(targets, i), *cols = PyTuple_GET_ITEM(t, G_COLUMNS),
                 *key_cols = PyTuple_GET_ITEM(t, G_KEY), *values, *tkey, *top;
        if ((values = PyDict_New()) == NULL)
            goto fail;
        for (j = 0; j < PyTuple_GET_SIZE(cols); j++) {
            PyObject *col = PyTuple_GET_ITEM(cols, j), *v = column_value(col, after, ts);
            if (v == NULL || PyDict_SetItem(values, PyTuple_GET_ITEM(col, 0), v) < 0) {
                Py_XDECREF(v);
                Py_DECREF(values);
                goto fail;
            }
            Py_DECREF(v);
        }
        if ((tkey = PyTuple_New(PyTuple_GET_SIZE(key_cols))) == NULL) {
            Py_DECREF(values);
            goto fail;
        }
        for (j = 0; j < PyTuple_GET_SIZE(key_cols); j++) {
            PyObject *v = PyDict_GetItemWithError(values, PyTuple_GET_ITEM(key_cols, j));
            if (v == NULL) {
                if (!PyErr_Occurred())
                    PyErr_SetObject(PyExc_KeyError, PyTuple_GET_ITEM(key_cols, j));
                Py_DECREF(values);
                Py_DECREF(tkey);
                goto fail;
            }
            Py_INCREF(v);
            PyTuple_SET_ITEM(tkey, j, v);
        }
        if ((top = new_named(T_OP, 10)) == NULL) {
            Py_DECREF(values);
            Py_DECREF(tkey);
            goto fail;
        }
        PyObject *fields[10] = {PyTuple_GET_ITEM(t, G_TABLE), S_upsert, tkey, values, PyTuple_GET_ITEM(t, G_CONTRIBUTOR),
                                position, legacy_key, PyTuple_GET_ITEM(spec, T_QUALIFIED),
                                PyTuple_GET_ITEM(t, G_CREATES_ROW), new_row ? Py_True : Py_False};
        for (j = 0; j < 10; j++) {
            if (j != 2 && j != 3)
                Py_INCREF(fields[j]);
            PyTuple_SET_ITEM(top, j, fields[j]);
        }
        PyList_SET_ITEM(ops, i, top);
    }

    /* the ChangeEvent, every field positionally (events._decode_change) */
    if ((event = new_named(T_EVENT, 17)) == NULL)
        goto fail;
    {
        PyObject *fields[17] = {S_change, coords, S_mysql, name, db, Py_None, table, op,
                                key_obj ? key_obj : Py_None, before, after, position, ts,
                                snapshot ? Py_True : Py_False, tx_id ? tx_id : Py_None, Py_None, NULL};
        PyObject *empty = PyTuple_New(0);
        if (empty == NULL)
            goto fail;
        fields[16] = empty;
        for (j = 0; j < 17; j++) {
            if (j != 16)
                Py_INCREF(fields[j]);
            PyTuple_SET_ITEM(event, j, fields[j]);
        }
    }
    if ((mapped = new_named(T_MAPPED, 4)) == NULL)
        goto fail;
    Py_INCREF(msg); PyTuple_SET_ITEM(mapped, 0, msg);
    PyTuple_SET_ITEM(mapped, 1, event); event = NULL;
    PyTuple_SET_ITEM(mapped, 2, ops); ops = NULL;
    Py_INCREF(Py_None); PyTuple_SET_ITEM(mapped, 3, Py_None);
fail:
    Py_XDECREF(value);
    Py_XDECREF(key);
    envelope_clear(&e);
    Py_XDECREF(key_obj);
    Py_XDECREF(position);
    Py_XDECREF(partition);
    Py_XDECREF(offset);
    Py_XDECREF(coords);
    Py_XDECREF(event);
    Py_XDECREF(tx_id);
    Py_XDECREF(legacy_key);
    Py_XDECREF(ops);
    return mapped;
}

static PyObject *map_batch(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    /* map_batch(msgs, specs_by_topic, slow[, release]) -> [Mapped]: each message through
     * fast_one when its topic has a spec and it is the common case, else through
     * slow(msg). `release`, a list (the previous batch's Mapped), has its i-th item
     * replaced by None before message i is mapped: the blocks it frees are the ones this
     * message's objects take, while they are still in the cache. Freed a batch at a time,
     * they emptied whole arenas, which the allocator gave back to the system and took again
     * (a page fault per 4 kB) for the next batch. */
    PyObject *msgs, *specs, *slow, *out, *release = NULL, *last_topic = NULL, *last_spec = NULL;
    Py_ssize_t i, n;
    if ((nargs != 3 && nargs != 4) || !PyList_CheckExact(args[0]) || !PyDict_CheckExact(args[1])
        || (nargs == 4 && args[3] != Py_None && !PyList_CheckExact(args[3]))) {
        PyErr_SetString(PyExc_TypeError, "map_batch(list of messages, dict of specs, slow path[, list to release])");
        return NULL;
    }
    if (nargs == 4 && args[3] != Py_None)
        release = args[3];
    if (!ready) {
        PyErr_SetString(PyExc_RuntimeError, "_fastmap.setup() was not called");
        return NULL;
    }
    msgs = args[0], specs = args[1], slow = args[2];
    n = PyList_GET_SIZE(msgs);
    if ((out = PyList_New(n)) == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        PyObject *msg = PyList_GET_ITEM(msgs, i), *topic, *spec, *m = NULL;
        if (release != NULL && i < PyList_GET_SIZE(release)) {
            PyObject *old = PyList_GET_ITEM(release, i);
            Py_INCREF(Py_None);
            PyList_SET_ITEM(release, i, Py_None);
            Py_DECREF(old);
        }
        if (i % 64 == 63) {
            /* a batch is tens of milliseconds of C: let the apply thread take the GIL
             * when it asked for it (a table without Python transforms never enters the
             * eval loop, where the interpreter would hand it over) */
            Py_BEGIN_ALLOW_THREADS
            Py_END_ALLOW_THREADS
        }
        if ((topic = PyObject_CallMethodNoArgs(msg, S_topic)) == NULL)
            goto error;
        /* each message has a topic str of its own: a batch's messages share a few topics,
         * so the last one's spec is reused when the text is the same (no hash, no lookup) */
        if (last_topic != NULL && PyUnicode_CheckExact(topic) && PyUnicode_IS_COMPACT_ASCII(topic)
            && PyUnicode_GET_LENGTH(topic) == PyUnicode_GET_LENGTH(last_topic)
            && memcmp(PyUnicode_DATA(topic), PyUnicode_DATA(last_topic), PyUnicode_GET_LENGTH(topic)) == 0)
            spec = last_spec;
        else {
            spec = topic == Py_None ? NULL : PyDict_GetItemWithError(specs, topic);
            Py_CLEAR(last_topic);
            if (spec != NULL && PyUnicode_CheckExact(topic) && PyUnicode_IS_COMPACT_ASCII(topic)) {
                last_topic = Py_NewRef(topic);
                last_spec = spec;
            }
        }
        if (spec != NULL) {
            m = fast_one(msg, topic, spec);
            /* an Exception sends the message to the Python path, which raises it again
             * with its context (or takes what this file does not); a BaseException that
             * is not one (KeyboardInterrupt from a signal handler, SystemExit) and
             * MemoryError stop the batch, as they stop the Python path */
            if (m == NULL && PyErr_Occurred() && PyErr_ExceptionMatches(PyExc_Exception)
                && !PyErr_ExceptionMatches(PyExc_MemoryError))
                PyErr_Clear();
        }
        Py_DECREF(topic);
        if (m == NULL && PyErr_Occurred())
            goto error;
        if (m == NULL && (m = PyObject_CallOneArg(slow, msg)) == NULL)
            goto error;
        PyList_SET_ITEM(out, i, m);
    }
    Py_XDECREF(last_topic);
    return out;
error:
    Py_XDECREF(last_topic);
    Py_DECREF(out);
    return NULL;
}

static PyObject *setup(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    /* setup(KafkaCoordinates, ChangeEvent, TargetOp, Mapped, uuid.UUID, SafeUUID.unknown,
     *       orjson.loads, events._binlog_numbers) */
    PyObject **slots[8] = {&T_COORDS, &T_EVENT, &T_OP, &T_MAPPED, &T_UUID, &SAFE_UNKNOWN, &LOADS, &BINLOG_NUMBERS};
    Py_ssize_t i;
    if (nargs != 8 || !PyDict_CheckExact(args[7])) {
        PyErr_SetString(PyExc_TypeError, "setup() takes 8 arguments, the last a dict");
        return NULL;
    }
    for (i = 0; i < 4; i++) {
        if (!PyType_Check(args[i]) || !PyType_IsSubtype((PyTypeObject *)args[i], &PyTuple_Type)) {
            PyErr_SetString(PyExc_TypeError, "the first four arguments must be tuple types");
            return NULL;
        }
    }
    if (!PyType_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError, "the fifth argument must be a type");
        return NULL;
    }
    for (i = 0; i < 8; i++) {
        Py_INCREF(args[i]);
        Py_XSETREF(*slots[i], args[i]);
    }
    UUID_INT_AT = slot_offset(T_UUID, "int");
    UUID_SAFE_AT = slot_offset(T_UUID, "is_safe");
    /* value_hash must be hash() itself: a batch's dict is read with both */
    HASH_OK = 0;
    if (sizeof(Py_uhash_t) == 8) {
        PyObject *n = PyLong_FromUnsignedLongLong(0x0123456789abcdefULL), *u = n ? uuid_of_int(n) : NULL,
                 *k = u ? Py_BuildValue("(s(Ni)s)", "app.users", u, 7, "legacy_main") : NULL;
        Py_XDECREF(n);
        if (k == NULL)
            return NULL;
        Py_hash_t h = PyObject_Hash(k), mine = value_hash(k);
        Py_DECREF(k);
        if (h == -1 || mine == -1)
            return NULL;
        HASH_OK = h == mine;
    }
    ready = 1;
    Py_RETURN_NONE;
}


/* ---- planning a batch (sink.WritePlanner.plan): the same results as sink.py's Python
 * functions of the same names, which stay as the reference (tests/unit/test_fastmap.py) */

enum { OP_TABLE, OP_KIND, OP_KEY, OP_VALUES, OP_CONTRIBUTOR, OP_POSITION, OP_LEGACY_KEY, OP_SOURCE_TABLE,
       OP_CREATES_ROW, OP_NEW_ROW, OP_FIELDS };

static PyObject *NAIVE_DATETIME, *BEYOND_INT4, *BEYOND_INT2, *S_delete;

static int is_kind(PyObject *op, PyObject *kind)
{
    PyObject *k = PyTuple_GET_ITEM(op, OP_KIND);
    return k == kind || (PyUnicode_CheckExact(k) && PyUnicode_Compare(k, kind) == 0);
}

/* a copy of the TargetOp `op` with field i set to v (a new reference each) */
static PyObject *op_replace(PyObject *op, Py_ssize_t i, PyObject *v, Py_ssize_t i2, PyObject *v2)
{
    PyObject *out = new_named((PyObject *)Py_TYPE(op), OP_FIELDS);
    Py_ssize_t j;
    if (out == NULL)
        return NULL;
    for (j = 0; j < OP_FIELDS; j++) {
        PyObject *x = j == i ? v : j == i2 ? v2 : PyTuple_GET_ITEM(op, j);
        Py_INCREF(x);
        PyTuple_SET_ITEM(out, j, x);
    }
    return out;
}

static int keep_newer(PyObject *kept, PyObject *k, PyObject *op)
{
    PyObject *cur = PyDict_GetItemWithError(kept, k);
    int le;
    if (cur == NULL) {
        if (PyErr_Occurred())
            return -1;
        return PyDict_SetItem(kept, k, op);
    }
    le = PyObject_RichCompareBool(PyTuple_GET_ITEM(cur, OP_POSITION), PyTuple_GET_ITEM(op, OP_POSITION), Py_LE);
    if (le < 0)
        return -1;
    return le ? PyDict_SetItem(kept, k, op) : 0;
}

static PyObject *reduce_ops(PyObject *self, PyObject *ops)
{
    /* reduce_ops(iterable of TargetOp) -> list: sink.reduce_ops */
    PyObject *newest = NULL, *deleted = NULL, *out = NULL, *k = NULL, *op = NULL, *merged = NULL, *arg;
    Py_ssize_t i, n;
    if ((arg = PySequence_List(ops)) == NULL)
        return NULL;
    n = PyList_GET_SIZE(arg);
    if ((newest = PyDict_New()) == NULL || (deleted = PyDict_New()) == NULL)
        goto done;
    for (i = 0; i < n; i++) {
        PyObject *cur;
        Py_hash_t h;
        int le;
        op = PyList_GET_ITEM(arg, i);
        Py_INCREF(op);
        k = PyTuple_Pack(3, PyTuple_GET_ITEM(op, OP_TABLE), PyTuple_GET_ITEM(op, OP_KEY),
                         PyTuple_GET_ITEM(op, OP_CONTRIBUTOR));
        if (k == NULL)
            goto done;
        /* the key's hash once, without UUID.__hash__'s call into Python (value_hash) */
        h = HASH_OK ? value_hash(k) : PyObject_Hash(k);
        if (h == -1)
            goto done;
        cur = _PyDict_GetItem_KnownHash(newest, k, h);
        if (cur == NULL) {
            if (PyErr_Occurred() || _PyDict_SetItem_KnownHash(newest, k, op, h) < 0)
                goto done;
            cur = op;
        }
        if (cur != op) {
            le = PyObject_RichCompareBool(PyTuple_GET_ITEM(cur, OP_POSITION), PyTuple_GET_ITEM(op, OP_POSITION), Py_LE);
            if (le < 0)
                goto done;
            if (le) {
                int op_upsert = is_kind(op, S_upsert), cur_upsert = is_kind(cur, S_upsert);
                int creates = PyObject_IsTrue(PyTuple_GET_ITEM(op, OP_CREATES_ROW));
                if (creates < 0)
                    goto done;
                if (op_upsert && !creates && cur_upsert) {
                    /* cur._replace(values={**cur.values, **op.values}, position=op.position) */
                    merged = PyDict_New();
                    if (merged == NULL || PyDict_Update(merged, PyTuple_GET_ITEM(cur, OP_VALUES)) < 0
                        || PyDict_Update(merged, PyTuple_GET_ITEM(op, OP_VALUES)) < 0)
                        goto done;
                    PyObject *replaced = op_replace(cur, OP_VALUES, merged, OP_POSITION, PyTuple_GET_ITEM(op, OP_POSITION));
                    Py_CLEAR(merged);
                    if (replaced == NULL)
                        goto done;
                    Py_SETREF(op, replaced);
                }
                else {
                    int cur_new = PyObject_IsTrue(PyTuple_GET_ITEM(cur, OP_NEW_ROW)),
                        op_new = PyObject_IsTrue(PyTuple_GET_ITEM(op, OP_NEW_ROW));
                    if (cur_new < 0 || op_new < 0)
                        goto done;
                    if (op_upsert && cur_new && !op_new) {
                        PyObject *replaced = op_replace(op, OP_NEW_ROW, Py_True, -1, NULL);
                        if (replaced == NULL)
                            goto done;
                        Py_SETREF(op, replaced);
                    }
                    else if (is_kind(cur, S_delete) && !is_kind(op, S_delete)) {
                        if (keep_newer(deleted, k, cur) < 0)
                            goto done;
                    }
                }
                if (_PyDict_SetItem_KnownHash(newest, k, op, h) < 0)
                    goto done;
            }
            else if (is_kind(op, S_delete) && !is_kind(cur, S_delete)) {
                if (keep_newer(deleted, k, op) < 0)
                    goto done;
            }
        }
        Py_CLEAR(k);
        Py_CLEAR(op);
    }
    if ((out = PyList_New(0)) == NULL)
        goto done;
    if (PyDict_GET_SIZE(deleted)) {
        /* one delete per key: when the batch ends with a delete, that one is enough */
        PyObject *dk, *d;
        Py_ssize_t it = 0;
        while (PyDict_Next(deleted, &it, &dk, &d)) {
            PyObject *last = PyDict_GetItemWithError(newest, dk);
            if (last == NULL) {
                if (!PyErr_Occurred())
                    PyErr_SetObject(PyExc_KeyError, dk);
                Py_CLEAR(out);
                goto done;
            }
            if (!is_kind(last, S_delete) && PyList_Append(out, d) < 0) {
                Py_CLEAR(out);
                goto done;
            }
        }
    }
    {
        PyObject *vk, *v;
        Py_ssize_t it = 0;
        while (PyDict_Next(newest, &it, &vk, &v)) {
            if (PyList_Append(out, v) < 0) {
                Py_CLEAR(out);
                goto done;
            }
        }
    }
done:
    Py_XDECREF(k);
    Py_XDECREF(op);
    Py_XDECREF(merged);
    Py_XDECREF(newest);
    Py_XDECREF(deleted);
    Py_DECREF(arg);
    return out;
}

static PyObject *partition_ops(PyObject *self, PyObject *arg)
{
    /* partition_ops(list of TargetOp) -> {table: (deletes, inserts, upserts, updates)}, in
     * the order of the tables' first ops (WritePlanner.plan's loop) */
    PyObject *out;
    Py_ssize_t i;
    if (!PyList_CheckExact(arg)) {
        PyErr_SetString(PyExc_TypeError, "partition_ops takes a list");
        return NULL;
    }
    if ((out = PyDict_New()) == NULL)
        return NULL;
    for (i = 0; i < PyList_GET_SIZE(arg); i++) {
        PyObject *o = PyList_GET_ITEM(arg, i), *table = PyTuple_GET_ITEM(o, OP_TABLE), *lists;
        int which;
        lists = PyDict_GetItemWithError(out, table);
        if (lists == NULL) {
            if (PyErr_Occurred())
                goto error;
            lists = Py_BuildValue("([][][][])");
            if (lists == NULL || PyDict_SetItem(out, table, lists) < 0) {
                Py_XDECREF(lists);
                goto error;
            }
            Py_DECREF(lists);  /* the dict holds it */
        }
        if (is_kind(o, S_delete))
            which = 0;
        else if (is_kind(o, S_upsert)) {
            int creates = PyObject_IsTrue(PyTuple_GET_ITEM(o, OP_CREATES_ROW)), fresh;
            if (creates < 0)
                goto error;
            if (creates) {
                if ((fresh = PyObject_IsTrue(PyTuple_GET_ITEM(o, OP_NEW_ROW))) < 0)
                    goto error;
                which = fresh ? 1 : 2;
            }
            else
                which = 3;
        }
        else
            which = 3;  /* non-creating contributors and clears */
        if (PyList_Append(PyTuple_GET_ITEM(lists, which), o) < 0)
            goto error;
    }
    return out;
error:
    Py_DECREF(out);
    return NULL;
}

/* a.keys() == b.keys() for two dicts: the same keys, in any order */
static int same_keys(PyObject *a, PyObject *b)
{
    PyObject *k, *v, *kb, *vb;
    Py_ssize_t it = 0, itb = 0, same = 0;
    if (PyDict_GET_SIZE(a) != PyDict_GET_SIZE(b))
        return 0;
    /* the rule: both made by one column program, the same key objects in the same order */
    while (PyDict_Next(a, &it, &k, &v)) {
        if (!PyDict_Next(b, &itb, &kb, &vb) || k != kb)
            break;
        same++;
    }
    if (same == PyDict_GET_SIZE(a))
        return 1;
    it = 0;
    while (PyDict_Next(a, &it, &k, &v)) {
        int has = PyDict_Contains(b, k);
        if (has <= 0)
            return has;
    }
    return 1;
}

static PyObject *by_shape(PyObject *self, PyObject *arg)
{
    /* by_shape(list of TargetOp) -> [[TargetOp]]: sink._by_shape (the same contributor
     * and the same columns, in the same order, make one group) */
    PyObject *groups = NULL, *out = NULL, *last_values = NULL, *last_group = NULL, *last_contributor = NULL;
    Py_ssize_t i;
    if (!PyList_CheckExact(arg)) {
        PyErr_SetString(PyExc_TypeError, "by_shape takes a list");
        return NULL;
    }
    if ((groups = PyDict_New()) == NULL)
        return NULL;
    for (i = 0; i < PyList_GET_SIZE(arg); i++) {
        PyObject *o = PyList_GET_ITEM(arg, i), *values = PyTuple_GET_ITEM(o, OP_VALUES),
                 *contributor = PyTuple_GET_ITEM(o, OP_CONTRIBUTOR), *k, *g;
        if (!PyDict_CheckExact(values)) {
            PyErr_SetString(PyExc_TypeError, "values is not a dict");
            goto done;
        }
        if (last_group != NULL) {
            /* consecutive ops of one shape are the rule */
            int same = PyObject_RichCompareBool(contributor, last_contributor, Py_EQ);
            if (same > 0)
                same = same_keys(values, last_values);
            if (same < 0)
                goto done;
            if (same) {
                if (PyList_Append(last_group, o) < 0)
                    goto done;
                continue;
            }
        }
        {
            PyObject *keys = PyDict_Keys(values), *cols = keys == NULL ? NULL : PyList_AsTuple(keys);
            k = cols == NULL ? NULL : PyTuple_Pack(2, contributor, cols);
            Py_XDECREF(keys);
            Py_XDECREF(cols);
        }
        if (k == NULL)
            goto done;
        g = PyDict_GetItemWithError(groups, k);
        if (g == NULL) {
            if (PyErr_Occurred() || (g = PyList_New(0)) == NULL || PyDict_SetItem(groups, k, g) < 0) {
                Py_XDECREF(g);
                Py_DECREF(k);
                goto done;
            }
            Py_DECREF(g);  /* the dict holds it */
        }
        Py_DECREF(k);
        if (PyList_Append(g, o) < 0)
            goto done;
        /* borrowed: the ops list holds the op, the op its values and contributor, the
         * groups dict the group */
        last_values = values;
        last_group = g;
        last_contributor = contributor;
    }
    out = PyDict_Values(groups);
done:
    Py_DECREF(groups);
    return out;
}

static PyObject *copy_rows(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    /* copy_rows(ops, columns) -> (rows, positions): each op's values in `columns` order
     * (sink._copy_group's itemgetter), and its position */
    PyObject *ops, *columns, *rows = NULL, *positions = NULL;
    Py_ssize_t i, j, n, ncol;
    if (nargs != 2 || !PyList_CheckExact(args[0]) || !PyTuple_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "copy_rows(list of ops, tuple of columns)");
        return NULL;
    }
    ops = args[0], columns = args[1];
    n = PyList_GET_SIZE(ops), ncol = PyTuple_GET_SIZE(columns);
    if ((rows = PyList_New(n)) == NULL || (positions = PyList_New(n)) == NULL)
        goto error;
    for (i = 0; i < n; i++) {
        PyObject *o = PyList_GET_ITEM(ops, i), *values = PyTuple_GET_ITEM(o, OP_VALUES), *row;
        if ((row = PyTuple_New(ncol)) == NULL)
            goto error;
        PyList_SET_ITEM(rows, i, row);
        j = 0;
        if (PyDict_CheckExact(values) && PyDict_GET_SIZE(values) == ncol) {
            /* the rule: `columns` is an op's own keys, and the op's values hold the same key
             * objects in the same order (one column program made them): taken in order,
             * without a lookup; from the first other key on, looked up */
            PyObject *k, *v;
            Py_ssize_t it = 0;
            while (j < ncol && PyDict_Next(values, &it, &k, &v) && k == PyTuple_GET_ITEM(columns, j)) {
                Py_INCREF(v);
                PyTuple_SET_ITEM(row, j, v);
                j++;
            }
        }
        for (; j < ncol; j++) {
            PyObject *v = PyObject_GetItem(values, PyTuple_GET_ITEM(columns, j));
            if (v == NULL)
                goto error;
            PyTuple_SET_ITEM(row, j, v);
        }
        Py_INCREF(PyTuple_GET_ITEM(o, OP_POSITION));
        PyList_SET_ITEM(positions, i, PyTuple_GET_ITEM(o, OP_POSITION));
    }
    return Py_BuildValue("(NN)", rows, positions);
error:
    Py_XDECREF(rows);
    Py_XDECREF(positions);
    return NULL;
}

static PyObject *column_types(PyObject *self, PyObject *arg)
{
    /* column_types(rows) -> [frozenset of types]: copy_binary.column_types */
    PyObject *out = NULL, *types = NULL;
    Py_ssize_t n, ncol = 0, i, j;
    if (!PyList_CheckExact(arg)) {
        PyErr_SetString(PyExc_TypeError, "column_types takes a list");
        return NULL;
    }
    n = PyList_GET_SIZE(arg);
    for (i = 0; i < n; i++) {
        PyObject *row = PyList_GET_ITEM(arg, i);
        if (!PyTuple_CheckExact(row)) {
            PyErr_SetString(PyExc_TypeError, "rows must be tuples");
            return NULL;
        }
        if (i == 0 || PyTuple_GET_SIZE(row) < ncol)
            ncol = PyTuple_GET_SIZE(row);  /* zip(*rows) stops at the shortest */
    }
    if ((out = PyList_New(ncol)) == NULL)
        return NULL;
    for (j = 0; j < ncol; j++) {
        PyTypeObject *last = NULL;
        int naive = 0, beyond4 = 0, beyond2 = 0;
        if ((types = PySet_New(NULL)) == NULL)
            goto error;
        for (i = 0; i < n; i++) {
            PyObject *v = PyTuple_GET_ITEM(PyList_GET_ITEM(arg, i), j);
            PyTypeObject *t = Py_TYPE(v);
            if (t != last && PySet_Add(types, (PyObject *)t) < 0)
                goto error;
            last = t;
            if (t == PyDateTimeAPI->DateTimeType && !naive)
                naive = PyDateTime_DATE_GET_TZINFO(v) == Py_None;
            else if (t == &PyLong_Type && !beyond4) {
                int overflow = 0;
                long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
                if (x == -1 && PyErr_Occurred())
                    goto error;
                if (overflow || x < -2147483648LL || x >= 2147483648LL)
                    beyond4 = beyond2 = 1;
                else if (x < -32768 || x >= 32768)
                    beyond2 = 1;
            }
        }
        if ((naive && PySet_Add(types, NAIVE_DATETIME) < 0) || (beyond4 && PySet_Add(types, BEYOND_INT4) < 0)
            || (beyond2 && PySet_Add(types, BEYOND_INT2) < 0))
            goto error;
        PyObject *frozen = PyFrozenSet_New(types);
        if (frozen == NULL)
            goto error;
        Py_CLEAR(types);
        PyList_SET_ITEM(out, j, frozen);
    }
    return out;
error:
    Py_XDECREF(types);
    Py_DECREF(out);
    return NULL;
}

static PyObject *setup_plan(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    /* setup_plan(NaiveDatetime, BeyondInt4, BeyondInt2): copy_binary's markers */
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "setup_plan() takes 3 arguments");
        return NULL;
    }
    Py_INCREF(args[0]); Py_XSETREF(NAIVE_DATETIME, args[0]);
    Py_INCREF(args[1]); Py_XSETREF(BEYOND_INT4, args[1]);
    Py_INCREF(args[2]); Py_XSETREF(BEYOND_INT2, args[2]);
    Py_RETURN_NONE;
}


/* ---- the binary COPY stream of a group (copy_binary.binary_payload): PostgreSQL's
 * binary formats of the common column types, written here; any other type, or a value
 * not exactly of the type this file knows, returns None and binary_payload (psycopg's
 * dumpers) writes the group instead. tests/unit/test_fastmap.py holds the bytes equal. */

enum { OID_BOOL = 16, OID_BYTEA = 17, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23, OID_TEXT = 25,
       OID_FLOAT8 = 701, OID_VARCHAR = 1043, OID_TIMESTAMPTZ = 1184, OID_UUID = 2950 };

typedef struct { char *data; size_t len, cap; } buffer;

static int buf_reserve(buffer *b, size_t n)
{
    if (b->len + n <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 65536;
    while (cap < b->len + n)
        cap *= 2;
    char *data = PyMem_Realloc(b->data, cap);
    if (data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->data = data, b->cap = cap;
    return 0;
}

static void put_be(buffer *b, unsigned long long v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--)
        b->data[b->len++] = (char)((v >> (8 * i)) & 0xff);
}

/* days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil) */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

/* the 16 big-endian bytes of a non-negative int below 2**128; -1 (perhaps with an
 * exception) otherwise. On 3.11 from its 30-bit digits directly: _PyLong_AsByteArray's
 * general loop cost as much as the rest of the row */
static int uuid_bytes(PyObject *n, unsigned char out[16])
{
#if PY_VERSION_HEX < 0x030C0000 && PYLONG_BITS_IN_DIGIT == 30 && defined(__SIZEOF_INT128__)
    Py_ssize_t size = Py_SIZE(n), i;
    unsigned __int128 x = 0;
    if (size < 0 || size > 5)
        return -1;
    for (i = size - 1; i >= 0; i--)
        x = (x << 30) | ((PyLongObject *)n)->ob_digit[i];
    if (size == 5 && (((PyLongObject *)n)->ob_digit[4] >> 8) != 0)  /* 4 * 30 + 8 = 128 bits */
        return -1;
    for (i = 15; i >= 0; i--, x >>= 8)
        out[i] = (unsigned char)x;
    return 0;
#elif PY_VERSION_HEX >= 0x030D0000
    return _PyLong_AsByteArray((PyLongObject *)n, out, 16, 0, 0, 1);
#else
    return _PyLong_AsByteArray((PyLongObject *)n, out, 16, 0, 0);
#endif
}

/* one field (its length, then its bytes); 1: written, 0: not a value this file writes, -1: error */
static int put_field(buffer *b, long oid, PyObject *v)
{
    if (v == Py_None) {
        if (buf_reserve(b, 4) < 0)
            return -1;
        put_be(b, 0xffffffffULL, 4);
        return 1;
    }
    switch (oid) {
    case OID_TEXT: case OID_VARCHAR: {
        Py_ssize_t n;
        const char *utf8;
        if (PyUnicode_CheckExact(v) && PyUnicode_IS_COMPACT_ASCII(v))  /* its bytes are its UTF-8 */
            utf8 = PyUnicode_DATA(v), n = PyUnicode_GET_LENGTH(v);
        else if (!PyUnicode_CheckExact(v) || (utf8 = PyUnicode_AsUTF8AndSize(v, &n)) == NULL) {
            PyErr_Clear();
            return 0;
        }
        if (n > 0x7fffffff || buf_reserve(b, 4 + (size_t)n) < 0)
            return n > 0x7fffffff ? 0 : -1;
        put_be(b, (unsigned long long)n, 4);
        memcpy(b->data + b->len, utf8, (size_t)n);
        b->len += (size_t)n;
        return 1;
    }
    case OID_BYTEA: {
        if (!PyBytes_CheckExact(v) || PyBytes_GET_SIZE(v) > 0x7fffffff)
            return 0;
        Py_ssize_t n = PyBytes_GET_SIZE(v);
        if (buf_reserve(b, 4 + (size_t)n) < 0)
            return -1;
        put_be(b, (unsigned long long)n, 4);
        memcpy(b->data + b->len, PyBytes_AS_STRING(v), (size_t)n);
        b->len += (size_t)n;
        return 1;
    }
    case OID_BOOL:
        if (!PyBool_Check(v))
            return 0;
        if (buf_reserve(b, 5) < 0)
            return -1;
        put_be(b, 1, 4);
        b->data[b->len++] = v == Py_True;
        return 1;
    case OID_INT2: case OID_INT4: case OID_INT8: {
        int overflow = 0, size = oid == OID_INT2 ? 2 : oid == OID_INT4 ? 4 : 8;
        long long x;
        if (!PyLong_CheckExact(v))
            return 0;
        x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (x == -1 && PyErr_Occurred())
            return -1;
        if (overflow || (size == 2 && (x < -32768 || x > 32767))
            || (size == 4 && (x < -2147483648LL || x > 2147483647LL)))
            return 0;
        if (buf_reserve(b, 4 + (size_t)size) < 0)
            return -1;
        put_be(b, (unsigned long long)size, 4);
        put_be(b, (unsigned long long)x, size);
        return 1;
    }
    case OID_FLOAT8: {
        union { double d; unsigned long long u; } f;
        if (!PyFloat_CheckExact(v))
            return 0;
        f.d = PyFloat_AS_DOUBLE(v);
        if (buf_reserve(b, 12) < 0)
            return -1;
        put_be(b, 8, 4);
        put_be(b, f.u, 8);
        return 1;
    }
    case OID_TIMESTAMPTZ: {
        /* microseconds since 2000-01-01 UTC, of a datetime in UTC (another zone: psycopg) */
        long long days, micros;
        if (!PyDateTime_CheckExact(v) || PyDateTime_DATE_GET_TZINFO(v) != PyDateTime_TimeZone_UTC)
            return 0;
        days = days_from_civil(PyDateTime_GET_YEAR(v), PyDateTime_GET_MONTH(v), PyDateTime_GET_DAY(v)) - 10957;
        micros = (((days * 24 + PyDateTime_DATE_GET_HOUR(v)) * 60 + PyDateTime_DATE_GET_MINUTE(v)) * 60
                  + PyDateTime_DATE_GET_SECOND(v)) * 1000000LL + PyDateTime_DATE_GET_MICROSECOND(v);
        if (buf_reserve(b, 12) < 0)
            return -1;
        put_be(b, 8, 4);
        put_be(b, (unsigned long long)micros, 8);
        return 1;
    }
    case OID_UUID: {
        unsigned char bytes[16];
        PyObject *n;
        int bad;
        if (Py_TYPE(v) != (PyTypeObject *)T_UUID)
            return 0;
        /* its `int`, read from its slot where setup() found it (no attribute lookup) */
        if (UUID_INT_AT >= 0 && (n = SLOT(v, UUID_INT_AT)) != NULL)
            Py_INCREF(n);
        else if ((n = PyObject_GetAttr(v, S_int)) == NULL)
            return -1;
        bad = !PyLong_CheckExact(n) || uuid_bytes(n, bytes) < 0;
        Py_DECREF(n);
        if (bad) {
            PyErr_Clear();
            return 0;
        }
        if (buf_reserve(b, 20) < 0)
            return -1;
        put_be(b, 16, 4);
        memcpy(b->data + b->len, bytes, 16);
        b->len += 16;
        return 1;
    }
    }
    return 0;
}

/* a source position as a one-dimensional bigint[] field (copy_binary.int8_array_field) */
static int put_position(buffer *b, PyObject *pos)
{
    Py_ssize_t n, i;
    if (!PyTuple_CheckExact(pos))
        return 0;
    n = PyTuple_GET_SIZE(pos);
    if (buf_reserve(b, 24 + 12 * (size_t)n) < 0)
        return -1;
    put_be(b, (unsigned long long)(20 + 12 * n), 4);
    put_be(b, 1, 4);  /* dimensions */
    put_be(b, 0, 4);  /* no NULLs */
    put_be(b, OID_INT8, 4);
    put_be(b, (unsigned long long)n, 4);
    put_be(b, 1, 4);  /* lower bound */
    for (i = 0; i < n; i++) {
        int overflow = 0;
        PyObject *x = PyTuple_GET_ITEM(pos, i);
        long long v;
        if (!PyLong_CheckExact(x))
            return 0;
        v = PyLong_AsLongLongAndOverflow(x, &overflow);
        if (v == -1 && PyErr_Occurred())
            return -1;
        if (overflow)
            return 0;
        put_be(b, 8, 4);
        put_be(b, (unsigned long long)v, 8);
    }
    return 1;
}

static PyObject *binary_copy(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    /* binary_copy(rows, positions, column oids) -> the whole binary COPY stream of the
     * rows, each with its position as a last bigint[] column; None when a column's type
     * or a value is not one this file writes */
    static const char header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
    PyObject *rows, *positions, *oids, *out = NULL;
    buffer b = {NULL, 0, 0};
    Py_ssize_t i, j, n, ncol;
    long col_oids[64];
    int ok = 1;
    if (nargs != 3 || !PyList_CheckExact(args[0]) || !PyList_CheckExact(args[1]) || !PyList_CheckExact(args[2])) {
        PyErr_SetString(PyExc_TypeError, "binary_copy(list of rows, list of positions, list of oids)");
        return NULL;
    }
    rows = args[0], positions = args[1], oids = args[2];
    n = PyList_GET_SIZE(rows), ncol = PyList_GET_SIZE(oids);
    if (!ready || ncol > 64 || PyList_GET_SIZE(positions) != n)
        Py_RETURN_NONE;
    for (j = 0; j < ncol; j++) {
        col_oids[j] = PyLong_AsLong(PyList_GET_ITEM(oids, j));
        if (col_oids[j] == -1 && PyErr_Occurred())
            return NULL;
    }
    if (buf_reserve(&b, 21) < 0)
        return NULL;
    memcpy(b.data, header, 19);
    b.len = 19;
    for (i = 0; i < n && ok == 1; i++) {
        PyObject *row = PyList_GET_ITEM(rows, i);
        if (!PyTuple_CheckExact(row) || PyTuple_GET_SIZE(row) != ncol) {
            ok = 0;
            break;
        }
        if (buf_reserve(&b, 2) < 0) {
            ok = -1;
            break;
        }
        put_be(&b, (unsigned long long)(ncol + 1), 2);
        for (j = 0; j < ncol && ok == 1; j++)
            ok = put_field(&b, col_oids[j], PyTuple_GET_ITEM(row, j));
        if (ok == 1)
            ok = put_position(&b, PyList_GET_ITEM(positions, i));
    }
    if (ok == 1 && buf_reserve(&b, 2) == 0) {
        put_be(&b, 0xffff, 2);
        out = PyBytes_FromStringAndSize(b.data, (Py_ssize_t)b.len);
    }
    else if (ok == 0) {
        out = Py_None;
        Py_INCREF(out);
    }
    PyMem_Free(b.data);
    return out;
}


/* ---- a batch's bookkeeping (fastpath.ops_and_spans, fastpath.tally), the same as the
 * Python functions of those names */

enum { M_MSG, M_EVENT, M_OPS, M_ERROR };
enum { E_KIND = 0, E_COORDS = 1, E_OP = 7, E_TS = 12 };

static PyObject *S_dead_letter, *S_applied, *S_filtered;

static PyObject *ops_and_spans(PyObject *self, PyObject *mapped)
{
    /* ops_and_spans(list of Mapped) -> (the ops of the events without an error,
     * {(topic, partition): [first offset, last offset]}) */
    PyObject *ops = NULL, *spans = NULL, *k = NULL, *offset = NULL;
    /* the last event's topic, partition and span (borrowed: the events keep the first two
     * alive, `spans` the third): a batch's events come in long runs of one partition */
    PyObject *last_topic = NULL, *last_partition = NULL, *last_span = NULL;
    Py_ssize_t i;
    if (!PyList_CheckExact(mapped)) {
        PyErr_SetString(PyExc_TypeError, "ops_and_spans takes a list");
        return NULL;
    }
    if ((ops = PyList_New(0)) == NULL || (spans = PyDict_New()) == NULL)
        goto error;
    for (i = 0; i < PyList_GET_SIZE(mapped); i++) {
        PyObject *m = PyList_GET_ITEM(mapped, i), *event = PyTuple_GET_ITEM(m, M_EVENT),
                 *msg = PyTuple_GET_ITEM(m, M_MSG), *span;
        if (PyTuple_GET_ITEM(m, M_ERROR) == Py_None) {
            PyObject *mops = PyTuple_GET_ITEM(m, M_OPS);
            if (PyList_CheckExact(mops) && PyList_GET_SIZE(mops) == 1) {
                if (PyList_Append(ops, PyList_GET_ITEM(mops, 0)) < 0)
                    goto error;
            }
            else {
                PyObject *seq = PySequence_Fast(mops, "ops must be a sequence");
                Py_ssize_t j;
                if (seq == NULL)
                    goto error;
                for (j = 0; j < PySequence_Fast_GET_SIZE(seq); j++) {
                    if (PyList_Append(ops, PySequence_Fast_GET_ITEM(seq, j)) < 0) {
                        Py_DECREF(seq);
                        goto error;
                    }
                }
                Py_DECREF(seq);
            }
        }
        if (event != Py_None) {  /* the event's coordinates are the message's */
            PyObject *coords = PyTuple_GET_ITEM(event, E_COORDS), *topic = PyTuple_GET_ITEM(coords, 0),
                     *partition = PyTuple_GET_ITEM(coords, 1);
            offset = PyTuple_GET_ITEM(coords, 2);
            if (last_span != NULL && PyLong_CheckExact(partition) && PyLong_CheckExact(last_partition)
                && same_text(topic, last_topic)
                && PyObject_RichCompareBool(partition, last_partition, Py_EQ) == 1) {
                /* the same partition as the last event: its span, without a key and a lookup */
                PyObject *o = offset;  /* borrowed */
                int gt, lt = 0;
                offset = NULL;
                if ((gt = greater(o, PyList_GET_ITEM(last_span, 1))) < 0)
                    goto error;
                if (gt) {
                    Py_INCREF(o);
                    PyList_SetItem(last_span, 1, o);
                }
                else if ((lt = greater(PyList_GET_ITEM(last_span, 0), o)) < 0)
                    goto error;
                else if (lt) {
                    Py_INCREF(o);
                    PyList_SetItem(last_span, 0, o);
                }
                continue;
            }
            last_topic = topic, last_partition = partition;
            k = PyTuple_Pack(2, topic, partition);
            Py_INCREF(offset);
        }
        else
            last_span = NULL;  /* a message without an event: its coordinates are new objects */
        if (event == Py_None) {
            PyObject *topic = PyObject_CallMethodNoArgs(msg, S_topic),
                     *partition = topic == NULL ? NULL : PyObject_CallMethodNoArgs(msg, S_partition);
            k = partition == NULL ? NULL : PyTuple_Pack(2, topic, partition);
            Py_XDECREF(topic);
            Py_XDECREF(partition);
            if (k == NULL || (offset = PyObject_CallMethodNoArgs(msg, S_offset)) == NULL)
                goto error;
        }
        if (k == NULL)
            goto error;
        span = PyDict_GetItemWithError(spans, k);
        if (span == NULL) {
            if (PyErr_Occurred() || (span = PyList_New(2)) == NULL)
                goto error;
            Py_INCREF(offset);
            PyList_SET_ITEM(span, 0, offset);
            Py_INCREF(offset);
            PyList_SET_ITEM(span, 1, offset);
            if (PyDict_SetItem(spans, k, span) < 0) {
                Py_DECREF(span);
                goto error;
            }
            Py_DECREF(span);
        }
        else {
            int gt = PyObject_RichCompareBool(offset, PyList_GET_ITEM(span, 1), Py_GT), lt = 0;
            if (gt < 0)
                goto error;
            if (gt) {
                Py_INCREF(offset);
                PyList_SetItem(span, 1, offset);
            }
            else if ((lt = PyObject_RichCompareBool(offset, PyList_GET_ITEM(span, 0), Py_LT)) < 0)
                goto error;
            else if (lt) {
                Py_INCREF(offset);
                PyList_SetItem(span, 0, offset);
            }
        }
        last_span = event != Py_None ? span : NULL;  /* `spans` holds it */
        Py_CLEAR(k);
        Py_CLEAR(offset);
    }
    return Py_BuildValue("(NN)", ops, spans);
error:
    Py_XDECREF(k);
    Py_XDECREF(offset);
    Py_XDECREF(ops);
    Py_XDECREF(spans);
    return NULL;
}

/* counts[(topic, op, outcome)] += n */
static int add_count(PyObject *counts, PyObject *topic, PyObject *op, PyObject *outcome, Py_ssize_t n)
{
    PyObject *k = PyTuple_Pack(3, topic, op, outcome), *cur, *sum;
    int rc;
    if (k == NULL)
        return -1;
    cur = PyDict_GetItemWithError(counts, k);
    if (cur == NULL && PyErr_Occurred()) {
        Py_DECREF(k);
        return -1;
    }
    sum = PyLong_FromSsize_t(cur == NULL ? n : PyLong_AsSsize_t(cur) + n);
    rc = sum == NULL ? -1 : PyDict_SetItem(counts, k, sum);
    Py_XDECREF(sum);
    Py_DECREF(k);
    return rc;
}

/* newest[topic] = ts when ts is above what it holds (or above 0, when it holds nothing) */
static int raise_newest(PyObject *newest, PyObject *topic, PyObject *ts)
{
    PyObject *cur = PyDict_GetItemWithError(newest, topic), *zero = NULL;
    int newer;
    if (cur == NULL && PyErr_Occurred())
        return -1;
    if (cur == NULL && (cur = zero = PyLong_FromLong(0)) == NULL)
        return -1;
    newer = greater(ts, cur);
    Py_XDECREF(zero);
    return newer < 0 ? -1 : (newer ? PyDict_SetItem(newest, topic, ts) : 0);
}

static PyObject *tally(PyObject *self, PyObject *mapped)
{
    /* tally(list of Mapped) -> ({(topic, op, outcome): events}, {topic: newest source
     * ts_ms}, {topic: its first change event}, dead letters).
     * A batch is long runs of one topic and op: a run is counted in C and added to the
     * dicts when it ends, instead of a key tuple, a hash and a lookup per event. The
     * run's objects are borrowed from the events, which `mapped` keeps alive. */
    PyObject *counts = NULL, *newest = NULL, *firsts = NULL;
    PyObject *run_topic = NULL, *run_op = NULL, *run_outcome = NULL, *run_ts = NULL;
    Py_ssize_t i, dead = 0, run = 0;
    if (!PyList_CheckExact(mapped)) {
        PyErr_SetString(PyExc_TypeError, "tally takes a list");
        return NULL;
    }
    if ((counts = PyDict_New()) == NULL || (newest = PyDict_New()) == NULL || (firsts = PyDict_New()) == NULL)
        goto error;
    for (i = 0; i < PyList_GET_SIZE(mapped); i++) {
        PyObject *m = PyList_GET_ITEM(mapped, i), *ev = PyTuple_GET_ITEM(m, M_EVENT), *topic, *op, *outcome, *ts;
        int failed = PyTuple_GET_ITEM(m, M_ERROR) != Py_None;
        dead += failed;
        if (ev == Py_None || !str_equal(PyTuple_GET_ITEM(ev, E_KIND), S_change))
            continue;
        topic = PyTuple_GET_ITEM(PyTuple_GET_ITEM(ev, E_COORDS), 0);
        op = PyTuple_GET_ITEM(ev, E_OP);
        if (op == Py_None)
            op = S_empty;
        if (failed)
            outcome = S_dead_letter;
        else {
            int truth = PyObject_IsTrue(PyTuple_GET_ITEM(m, M_OPS));
            if (truth < 0)
                goto error;
            outcome = truth ? S_applied : S_filtered;
        }
        if (run > 0 && outcome == run_outcome && same_text(op, run_op) && same_text(topic, run_topic))
            run++;
        else {
            if (run > 0 && add_count(counts, run_topic, run_op, run_outcome, run) < 0)
                goto error;
            if (run_topic == NULL || !same_text(topic, run_topic)) {
                /* a new topic: its first event, and the last topic's newest timestamp */
                if (PyDict_SetDefault(firsts, topic, ev) == NULL)
                    goto error;
                if (run_ts != NULL && raise_newest(newest, run_topic, run_ts) < 0)
                    goto error;
                run_ts = NULL;
            }
            run_topic = topic, run_op = op, run_outcome = outcome, run = 1;
        }
        ts = PyTuple_GET_ITEM(ev, E_TS);
        if (ts != Py_None) {
            int newer = run_ts == NULL ? 1 : greater(ts, run_ts);
            if (newer < 0)
                goto error;
            if (newer)
                run_ts = ts;
        }
    }
    if (run > 0 && add_count(counts, run_topic, run_op, run_outcome, run) < 0)
        goto error;
    if (run_ts != NULL && raise_newest(newest, run_topic, run_ts) < 0)
        goto error;
    return Py_BuildValue("(NNNn)", counts, newest, firsts, dead);
error:
    Py_XDECREF(counts);
    Py_XDECREF(newest);
    Py_XDECREF(firsts);
    return NULL;
}

/* split_ops(ops, n) -> [[TargetOp] * n]: fastpath.split_ops. A key's shard is its parts'
 * hashes folded (hash(uuid) is hash(uuid.int): read here without the Python-level
 * UUID.__hash__ call); the same key always lands in the same shard, in batch order */
/* value_hash(v) -> (value_hash(v), whether reduce_ops uses it): a test hook */
static PyObject *py_value_hash(PyObject *self, PyObject *v)
{
    Py_hash_t h = value_hash(v);
    if (h == -1 && PyErr_Occurred())
        return NULL;
    return Py_BuildValue("(nO)", (Py_ssize_t)h, HASH_OK ? Py_True : Py_False);
}

/* message_sizes(msgs) -> (bytes, largest, errors): fastpath.message_sizes, without a
 * Python loop per message in the consume loop */
static PyObject *S_error;

static PyObject *message_sizes(PyObject *self, PyObject *arg)
{
    Py_ssize_t i, nbytes = 0, largest = 0, errors = 0;
    if (!PyList_CheckExact(arg)) {
        PyErr_SetString(PyExc_TypeError, "message_sizes takes a list of messages");
        return NULL;
    }
    for (i = 0; i < PyList_GET_SIZE(arg); i++) {
        PyObject *m = PyList_GET_ITEM(arg, i), *key, *err;
        Py_ssize_t n = PyObject_Length(m), k = 0;
        if (n < 0 || (key = PyObject_CallMethodNoArgs(m, S_key)) == NULL)
            return NULL;
        /* len(key or b""): a falsy key counts 0, whatever it is */
        if (key != Py_None) {
            int truth = PyObject_IsTrue(key);
            if (truth > 0)
                k = PyObject_Length(key);
            if (truth < 0 || k < 0) {
                Py_DECREF(key);
                return NULL;
            }
        }
        Py_DECREF(key);
        if ((err = PyObject_CallMethodNoArgs(m, S_error)) == NULL)
            return NULL;
        errors += err != Py_None;
        Py_DECREF(err);
        nbytes += n + k;
        if (n > largest)
            largest = n;
    }
    return Py_BuildValue("(nnn)", nbytes, largest, errors);
}

static PyObject *split_ops(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *ops, *out = NULL;
    Py_ssize_t n, i, j;
    if (nargs != 2 || !PyList_CheckExact(args[0]) || !PyLong_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "split_ops(list of ops, int)");
        return NULL;
    }
    ops = args[0];
    n = PyLong_AsSsize_t(args[1]);
    if (n < 1) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "split_ops needs at least one shard");
        return NULL;
    }
    if ((out = PyList_New(n)) == NULL)
        return NULL;
    for (j = 0; j < n; j++) {
        PyObject *shard = PyList_New(0);
        if (shard == NULL)
            goto error;
        PyList_SET_ITEM(out, j, shard);
    }
    for (i = 0; i < PyList_GET_SIZE(ops); i++) {
        PyObject *op = PyList_GET_ITEM(ops, i), *key;
        unsigned long long h = 0;
        if (!PyTuple_Check(op) || PyTuple_GET_SIZE(op) != OP_FIELDS || !PyTuple_Check(key = PyTuple_GET_ITEM(op, OP_KEY))) {
            PyErr_SetString(PyExc_TypeError, "split_ops takes TargetOps");
            goto error;
        }
        for (j = 0; j < PyTuple_GET_SIZE(key); j++) {
            PyObject *part = PyTuple_GET_ITEM(key, j);
            Py_hash_t ph;
            if (T_UUID != NULL && Py_TYPE(part) == (PyTypeObject *)T_UUID) {
                PyObject *v = PyObject_GetAttr(part, S_int);
                if (v == NULL)
                    goto error;
                ph = PyObject_Hash(v);
                Py_DECREF(v);
            }
            else
                ph = PyObject_Hash(part);
            if (ph == -1 && PyErr_Occurred())
                goto error;
            h = h * 1000003ULL ^ (unsigned long long)ph;
        }
        if (PyList_Append(PyList_GET_ITEM(out, (Py_ssize_t)(h % (unsigned long long)n)), op) < 0)
            goto error;
    }
    return out;
error:
    Py_XDECREF(out);
    return NULL;
}

/* read_envelope(value, known) -> what fast_one reads of an envelope, or None where it
 * hands the message to the Python path. For tests/unit/test_fastmap.py, which holds it
 * equal to the same projection of orjson.loads(value). */
static int put_read(PyObject *d, const char *key, PyObject *v)
{
    return v == NULL ? 0 : PyDict_SetItemString(d, key, v);
}

static PyObject *py_read_envelope(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Envelope e;
    PyObject *out = NULL, *source = NULL, *tx = NULL;
    if (nargs != 2 || !PyBytes_Check(args[0]) || !PyTuple_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "read_envelope(bytes, tuple of column names)");
        return NULL;
    }
    if (!read_envelope(PyBytes_AS_STRING(args[0]), PyBytes_GET_SIZE(args[0]), args[1], &e)) {
        if (PyErr_Occurred() && !PyErr_ExceptionMatches(PyExc_Exception))
            return NULL;
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    if ((out = PyDict_New()) == NULL || put_read(out, "op", e.op) < 0 || put_read(out, "after", e.after) < 0)
        goto done;
    if (e.has_before && put_read(out, "before", e.before != NULL ? e.before : Py_None) < 0)
        goto done;
    if (e.has_source) {
        if ((source = PyDict_New()) == NULL || PyDict_SetItemString(out, "source", source) < 0
            || put_read(source, "connector", e.connector) < 0 || put_read(source, "name", e.name) < 0
            || put_read(source, "db", e.db) < 0 || put_read(source, "table", e.table) < 0
            || put_read(source, "file", e.file) < 0 || put_read(source, "pos", e.pos) < 0
            || put_read(source, "row", e.row) < 0 || put_read(source, "snapshot", e.snapshot) < 0
            || put_read(source, "ts_ms", e.ts_ms) < 0)
            goto done;
    }
    if (e.has_tx) {
        if (!e.tx_is_object) {
            if (PyDict_SetItemString(out, "transaction", Py_None) < 0)
                goto done;
        }
        else if ((tx = PyDict_New()) == NULL || PyDict_SetItemString(out, "transaction", tx) < 0
                 || put_read(tx, "id", e.tx_id) < 0)
            goto done;
    }
    envelope_clear(&e);
    Py_XDECREF(source);
    Py_XDECREF(tx);
    return out;
done:
    envelope_clear(&e);
    Py_XDECREF(source);
    Py_XDECREF(tx);
    Py_XDECREF(out);
    return NULL;
}

static PyMethodDef methods[] = {
    {"map_batch", (PyCFunction)(void (*)(void))map_batch, METH_FASTCALL, "Decode and map a batch of messages."},
    {"read_envelope", (PyCFunction)(void (*)(void))py_read_envelope, METH_FASTCALL, "What fast_one reads of an envelope."},
    {"setup", (PyCFunction)(void (*)(void))setup, METH_FASTCALL, "The types and helpers the values are made of."},
    {"reduce_ops", reduce_ops, METH_O, "sink.reduce_ops"},
    {"partition_ops", partition_ops, METH_O, "A batch's ops by table, then by kind."},
    {"by_shape", by_shape, METH_O, "sink._by_shape"},
    {"copy_rows", (PyCFunction)(void (*)(void))copy_rows, METH_FASTCALL, "Rows in column order, and positions."},
    {"column_types", column_types, METH_O, "copy_binary.column_types"},
    {"ops_and_spans", ops_and_spans, METH_O, "fastpath.ops_and_spans"},
    {"tally", tally, METH_O, "fastpath.tally"},
    {"split_ops", (PyCFunction)(void (*)(void))split_ops, METH_FASTCALL, "fastpath.split_ops"},
    {"message_sizes", message_sizes, METH_O, "fastpath.message_sizes"},
    {"value_hash", py_value_hash, METH_O, "(hash(v) as reduce_ops computes it, whether it does)"},
    {"binary_copy", (PyCFunction)(void (*)(void))binary_copy, METH_FASTCALL, "A group's binary COPY stream, or None."},
    {"setup_plan", (PyCFunction)(void (*)(void))setup_plan, METH_FASTCALL, "copy_binary's markers."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fastmap", "The apply path's common case in C.", -1, methods};

PyMODINIT_FUNC PyInit__fastmap(void)
{
#define INTERN(var, text) if ((var = PyUnicode_InternFromString(text)) == NULL) return NULL
    INTERN(S_topic, "topic"); INTERN(S_partition, "partition"); INTERN(S_offset, "offset");
    INTERN(S_key, "key"); INTERN(S_value, "value"); INTERN(S_op, "op"); INTERN(S_source, "source");
    INTERN(S_before, "before"); INTERN(S_after, "after"); INTERN(S_connector, "connector");
    INTERN(S_mysql, "mysql"); INTERN(S_file, "file"); INTERN(S_pos, "pos"); INTERN(S_row, "row");
    INTERN(S_snapshot, "snapshot"); INTERN(S_false, "false"); INTERN(S_False, "False"); INTERN(S_empty, "");
    INTERN(S_transaction, "transaction"); INTERN(S_id, "id"); INTERN(S_name, "name"); INTERN(S_db, "db");
    INTERN(S_table, "table"); INTERN(S_ts_ms, "ts_ms"); INTERN(S_change, "change"); INTERN(S_upsert, "upsert");
    INTERN(S_int, "int"); INTERN(S_is_safe, "is_safe"); INTERN(S_delete, "delete");
    INTERN(S_dead_letter, "dead_letter"); INTERN(S_applied, "applied"); INTERN(S_filtered, "filtered");
    INTERN(S_error, "error");
#undef INTERN
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL)
        return NULL;
    return PyModule_Create(&module);
}
