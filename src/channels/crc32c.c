/* crc32c.c - CRC-32C with the SSE4.2 instruction when available, slicing-by-8 tables otherwise.
 *
 * The reflected polynomial 0x82F63B78; initial value and final xor 0xFFFFFFFF are applied inside, so
 * callers chain plain results. The tables are computed on first use under pthread_once (seen by
 * ThreadSanitizer, unlike g_once, whose synchronisation happens inside GLib). */
#include "crc32c.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#define RELAY_CRC32C_HW 1
#endif

#define RELAY_CRC32C_POLY 0x82F63B78u

static guint32 _table[8][256];

static void
_build_tables(void)
{
  for (guint32 i = 0; i < 256; i++)
    {
      guint32 crc = i;
      for (int k = 0; k < 8; k++)
        crc = (crc >> 1) ^ (RELAY_CRC32C_POLY & (0u - (crc & 1)));
      _table[0][i] = crc;
    }
  for (guint32 i = 0; i < 256; i++)
    for (int t = 1; t < 8; t++)
      _table[t][i] = (_table[t - 1][i] >> 8) ^ _table[0][_table[t - 1][i] & 0xff];
}

guint32
relay_crc32c_sw(guint32 crc, const void *data, gsize len)
{
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  const guint8 *p = data;

  pthread_once(&once, _build_tables);
  crc = ~crc;
  for (; len >= 8; len -= 8, p += 8)
    {
      guint32 lo, hi;
      memcpy(&lo, p, 4);
      memcpy(&hi, p + 4, 4);
      lo = GUINT32_FROM_LE(lo) ^ crc;
      hi = GUINT32_FROM_LE(hi);
      crc = _table[7][lo & 0xff] ^ _table[6][(lo >> 8) & 0xff] ^ _table[5][(lo >> 16) & 0xff]
            ^ _table[4][lo >> 24] ^ _table[3][hi & 0xff] ^ _table[2][(hi >> 8) & 0xff]
            ^ _table[1][(hi >> 16) & 0xff] ^ _table[0][hi >> 24];
    }
  while (len--)
    crc = (crc >> 8) ^ _table[0][(crc ^ *p++) & 0xff];
  return ~crc;
}

#ifdef RELAY_CRC32C_HW
__attribute__((target("sse4.2"))) static guint32
_crc32c_hw(guint32 crc, const void *data, gsize len)
{
  const guint8 *p = data;
  guint64 c = ~crc;

  for (; len >= 8; len -= 8, p += 8)
    {
      guint64 word;
      memcpy(&word, p, 8);
      c = _mm_crc32_u64(c, word);
    }
  guint32 c32 = (guint32)c;
  while (len--)
    c32 = _mm_crc32_u8(c32, *p++);
  return ~c32;
}
#endif

guint32
relay_crc32c(guint32 crc, const void *data, gsize len)
{
#ifdef RELAY_CRC32C_HW
  static gint hw = -1;
  gint use = g_atomic_int_get(&hw);
  if (use < 0)
    {
      __builtin_cpu_init();
      use = __builtin_cpu_supports("sse4.2") ? 1 : 0;
      g_atomic_int_set(&hw, use);
    }
  if (use)
    return _crc32c_hw(crc, data, len);
#endif
  return relay_crc32c_sw(crc, data, len);
}
