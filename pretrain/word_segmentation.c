/* Copyright 2026 The Chinese MobileBERT authors.
 * Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * jieba 0.42.1's default segmentation (accurate mode with the HMM for
 * unknown words) of a run of CJK ideographs, computed in C and returned as
 * per-character word flags: 0 where a word starts, 1 where a character
 * continues the word before it.
 *
 * The tables are jieba's own, handed over by word_segmentation.py: every
 * key of the tokenizer's prefix dictionary with its frequency (prefixes
 * that are not words have frequency 0), the dictionary's total, and the
 * HMM's start, transition and emission log probabilities. The algorithm
 * is jieba's, step for step, so that the words are the same:
 *   1. ideographs outside U+4E00..U+9FD5 are words of their own; each
 *      maximal run inside that range is a block;
 *   2. in a block, the best route through the dictionary's words (the
 *      highest sum of log(freq) - log(total); a position no word starts
 *      at is a one-character word of frequency 1; ties go to the longer
 *      word, as Python's max over (score, end) tuples does);
 *   3. consecutive one-character words of the route are gathered; two or
 *      more that do not form a dictionary word are re-segmented by the
 *      HMM's Viterbi path over the states B, E, M, S (ties go to the
 *      later letter, as in jieba's max over (probability, state)).
 * Floating-point sums are evaluated in jieba's order, so scores and ties
 * are bit-for-bit those of the Python code.
 *
 * Built by scripts/setup_env.sh into _word_segmentation.so; loaded with
 * ctypes, so one library serves every Python version.
 */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define MIN_FLOAT (-3.14e100) /* jieba's log probability of "never" */
#define BLOCK_FIRST 0x4E00    /* jieba's Chinese block: U+4E00..U+9FD5 */
#define BLOCK_LAST 0x9FD5
#define CHAR_BITS 21          /* code points fit in 21 bits */
#define WORD_STARTS 0
#define WORD_CONTINUES 1

/* HMM states in the order their letters compare: B < E < M < S. */
enum { STATE_B, STATE_E, STATE_M, STATE_S, NUM_STATES };

/* The two states each state can follow (jieba's PrevStatus). */
static const int kPrevious[NUM_STATES][2] = {
    {STATE_E, STATE_S}, /* B */
    {STATE_B, STATE_M}, /* E */
    {STATE_M, STATE_B}, /* M */
    {STATE_S, STATE_E}, /* S */
};

/* Open-addressing hash map from non-zero 64-bit keys to int32 values. */
typedef struct {
  uint64_t *keys; /* 0: empty slot */
  int32_t *values;
  uint64_t mask;
} HashMap;

typedef struct {
  HashMap children;    /* trie edge (node << CHAR_BITS | char) + 1 -> node */
  int64_t *frequency;  /* per trie node (0: the root, or a mere prefix) */
  double log_total;
  HashMap emit_rows;   /* char + 1 -> row of emit */
  double (*emit)[NUM_STATES];
  int32_t unseen_row;  /* the row of characters the HMM never saw */
  double start[NUM_STATES];
  double trans[NUM_STATES][NUM_STATES];
} Segmenter;

static uint64_t slot_of(uint64_t key, uint64_t mask) {
  return (key * 0x9E3779B97F4A7C15ULL >> 17) & mask;
}

static int hash_map_init(HashMap *map, int64_t num_entries) {
  uint64_t capacity = 16;
  while (capacity < (uint64_t)num_entries * 2) capacity <<= 1;
  map->keys = calloc(capacity, sizeof(uint64_t));
  map->values = malloc(capacity * sizeof(int32_t));
  map->mask = capacity - 1;
  return map->keys != NULL && map->values != NULL;
}

static void hash_map_free(HashMap *map) {
  free(map->keys);
  free(map->values);
}

/* The value of `key`, or -1. */
static int32_t hash_map_get(const HashMap *map, uint64_t key) {
  uint64_t slot = slot_of(key, map->mask);
  while (map->keys[slot] != 0) {
    if (map->keys[slot] == key) return map->values[slot];
    slot = (slot + 1) & map->mask;
  }
  return -1;
}

/* Inserts `key` with `value` unless present; returns the stored value. */
static int32_t hash_map_put(HashMap *map, uint64_t key, int32_t value) {
  uint64_t slot = slot_of(key, map->mask);
  while (map->keys[slot] != 0) {
    if (map->keys[slot] == key) return map->values[slot];
    slot = (slot + 1) & map->mask;
  }
  map->keys[slot] = key;
  map->values[slot] = value;
  return value;
}

static uint64_t edge_key(int32_t node, uint32_t character) {
  return ((uint64_t)node << CHAR_BITS | character) + 1;
}

/* The trie node after `node` on `character`, or -1. */
static int32_t child_of(const Segmenter *seg, int32_t node,
                        uint32_t character) {
  return hash_map_get(&seg->children, edge_key(node, character));
}

void ws_free(Segmenter *seg) {
  if (seg == NULL) return;
  hash_map_free(&seg->children);
  hash_map_free(&seg->emit_rows);
  free(seg->frequency);
  free(seg->emit);
  free(seg);
}

/* A segmenter over jieba's tables, or NULL when memory runs out.
 *
 * words: the dictionary's keys, concatenated (num_chars code points);
 * lengths, frequencies: per key. emit_chars: the HMM's characters;
 * emit: their log probabilities, NUM_STATES per character in B E M S order
 * (MIN_FLOAT where a state has none). start: NUM_STATES values; trans:
 * NUM_STATES x NUM_STATES, row = from-state.
 */
Segmenter *ws_new(const uint32_t *words, int64_t num_chars,
                  const int32_t *lengths, const int64_t *frequencies,
                  int32_t num_words, int64_t total,
                  const uint32_t *emit_chars, const double *emit,
                  int32_t num_emit_chars, const double *start,
                  const double *trans) {
  Segmenter *seg = calloc(1, sizeof(Segmenter));
  if (seg == NULL) return NULL;
  int ok = hash_map_init(&seg->children, num_chars) &&
           hash_map_init(&seg->emit_rows, num_emit_chars);
  seg->frequency = calloc(num_chars + 1, sizeof(int64_t));
  seg->emit = malloc((num_emit_chars + 1) * sizeof(*seg->emit));
  if (!ok || seg->frequency == NULL || seg->emit == NULL) {
    ws_free(seg);
    return NULL;
  }
  int32_t num_nodes = 1; /* the root */
  const uint32_t *word = words;
  for (int32_t w = 0; w < num_words; ++w) {
    int32_t node = 0;
    for (int32_t i = 0; i < lengths[w]; ++i) {
      int32_t child = hash_map_put(&seg->children, edge_key(node, word[i]),
                                   num_nodes);
      if (child == num_nodes) ++num_nodes;
      node = child;
    }
    seg->frequency[node] = frequencies[w];
    word += lengths[w];
  }
  seg->log_total = log((double)total);
  for (int32_t c = 0; c < num_emit_chars; ++c) {
    hash_map_put(&seg->emit_rows, (uint64_t)emit_chars[c] + 1, c);
    for (int s = 0; s < NUM_STATES; ++s) {
      seg->emit[c][s] = emit[c * NUM_STATES + s];
    }
  }
  seg->unseen_row = num_emit_chars;
  for (int s = 0; s < NUM_STATES; ++s) {
    seg->emit[num_emit_chars][s] = MIN_FLOAT;
    seg->start[s] = start[s];
    for (int t = 0; t < NUM_STATES; ++t) {
      seg->trans[s][t] = trans[s * NUM_STATES + t];
    }
  }
  return seg;
}

/* The HMM's log probabilities of emitting `character` from each state. */
static const double *emission_of(const Segmenter *seg, uint32_t character) {
  int32_t row = hash_map_get(&seg->emit_rows, (uint64_t)character + 1);
  return seg->emit[row >= 0 ? row : seg->unseen_row];
}

/* Flags being written: the next position and the end of the buffer. */
typedef struct {
  uint8_t *next;
  uint8_t *end;
} FlagWriter;

/* Writes the flags of one word of `length` characters; 0 if it overflows. */
static int write_word(FlagWriter *out, int32_t length) {
  if (out->end - out->next < length) return 0;
  *out->next++ = WORD_STARTS;
  for (int32_t i = 1; i < length; ++i) *out->next++ = WORD_CONTINUES;
  return 1;
}

/* jieba's finalseg: Viterbi tags over s[0..n) (n >= 2), then its words. */
static int write_hmm_words(const Segmenter *seg, const uint32_t *s, int32_t n,
                           uint8_t *back, FlagWriter *out) {
  double score[NUM_STATES], next_score[NUM_STATES];
  const double *em = emission_of(seg, s[0]);
  for (int y = 0; y < NUM_STATES; ++y) score[y] = seg->start[y] + em[y];
  for (int32_t t = 1; t < n; ++t) {
    em = emission_of(seg, s[t]);
    for (int y = 0; y < NUM_STATES; ++y) {
      int best_state = -1;
      double best = 0.0;
      for (int k = 0; k < 2; ++k) {
        int y0 = kPrevious[y][k];
        double p = score[y0] + seg->trans[y0][y] + em[y];
        if (best_state < 0 || p > best || (p == best && y0 > best_state)) {
          best = p;
          best_state = y0;
        }
      }
      next_score[y] = best;
      back[t * NUM_STATES + y] = (uint8_t)best_state;
    }
    for (int y = 0; y < NUM_STATES; ++y) score[y] = next_score[y];
  }
  /* The path ends in E or S; S wins a tie. back[t * NUM_STATES] is reused
   * to hold the state at t once the path is traced. */
  int state = score[STATE_S] >= score[STATE_E] ? STATE_S : STATE_E;
  for (int32_t t = n - 1; t >= 0; --t) {
    int previous = t > 0 ? back[t * NUM_STATES + state] : 0;
    back[t * NUM_STATES] = (uint8_t)state;
    state = previous;
  }
  int32_t begin = 0, next = 0;
  for (int32_t i = 0; i < n; ++i) {
    switch (back[i * NUM_STATES]) {
      case STATE_B:
        begin = i;
        break;
      case STATE_E:
        if (!write_word(out, i + 1 - begin)) return 0;
        next = i + 1;
        break;
      case STATE_S:
        if (!write_word(out, 1)) return 0;
        next = i + 1;
        break;
      default: /* M */
        break;
    }
  }
  return next < n ? write_word(out, n - next) : 1;
}

/* The frequency of the word s[0..n), or 0 if it is not in the dictionary. */
static int64_t frequency_of(const Segmenter *seg, const uint32_t *s,
                            int32_t n) {
  int32_t node = 0;
  for (int32_t i = 0; i < n && node >= 0; ++i) node = child_of(seg, node, s[i]);
  return node >= 0 ? seg->frequency[node] : 0;
}

/* Flags of gathered one-character words s[0..n) (jieba's `buf`). */
static int write_gathered(const Segmenter *seg, const uint32_t *s, int32_t n,
                          uint8_t *back, FlagWriter *out) {
  if (n == 1 || frequency_of(seg, s, n) != 0) {
    for (int32_t i = 0; i < n; ++i) {
      if (!write_word(out, 1)) return 0;
    }
    return 1;
  }
  return write_hmm_words(seg, s, n, back, out);
}

/* Flags of one block s[0..n) of U+4E00..U+9FD5 ideographs. */
static int write_block(const Segmenter *seg, const uint32_t *s, int32_t n,
                       double *route_score, int32_t *route_end,
                       uint8_t *back, FlagWriter *out) {
  route_score[n] = 0.0;
  for (int32_t idx = n - 1; idx >= 0; --idx) {
    int32_t node = 0, best_end = -1;
    double best = 0.0;
    for (int32_t x = idx; x < n; ++x) {
      node = child_of(seg, node, s[x]);
      if (node < 0) break;
      if (seg->frequency[node] != 0) {
        double p = log((double)seg->frequency[node]) - seg->log_total +
                   route_score[x + 1];
        if (best_end < 0 || p >= best) { /* ties: the longer word */
          best = p;
          best_end = x;
        }
      }
    }
    if (best_end < 0) { /* no word starts here: frequency 1 */
      best = log(1.0) - seg->log_total + route_score[idx + 1];
      best_end = idx;
    }
    route_score[idx] = best;
    route_end[idx] = best_end;
  }
  int32_t gathered = 0; /* one-character words waiting before x */
  for (int32_t x = 0; x < n;) {
    int32_t end = route_end[x] + 1;
    if (end - x == 1) {
      ++gathered;
    } else {
      if (gathered > 0 &&
          !write_gathered(seg, s + x - gathered, gathered, back, out)) {
        return 0;
      }
      gathered = 0;
      if (!write_word(out, end - x)) return 0;
    }
    x = end;
  }
  return gathered == 0 || write_gathered(seg, s + n - gathered, gathered,
                                         back, out);
}

/* Writes the word flags of run[0..n) into flags (room for n).
 *
 * Returns how many flags were written (n for any input jieba accepts), -1
 * when memory runs out, -2 if the words would overflow the buffer.
 */
int32_t ws_cut(const Segmenter *seg, const uint32_t *run, int32_t n,
               uint8_t *flags) {
  double *route_score = malloc((n + 1) * sizeof(double));
  int32_t *route_end = malloc((n + 1) * sizeof(int32_t));
  uint8_t *back = malloc((n + 1) * NUM_STATES);
  int32_t result = -1;
  if (route_score != NULL && route_end != NULL && back != NULL) {
    FlagWriter out = {flags, flags + n};
    int ok = 1;
    for (int32_t i = 0; i < n && ok;) {
      int32_t j = i;
      while (j < n && run[j] >= BLOCK_FIRST && run[j] <= BLOCK_LAST) ++j;
      if (j == i) {
        ok = write_word(&out, 1);
        ++i;
      } else {
        ok = write_block(seg, run + i, j - i, route_score, route_end, back,
                         &out);
        i = j;
      }
    }
    result = ok ? (int32_t)(out.next - flags) : -2;
  }
  free(route_score);
  free(route_end);
  free(back);
  return result;
}
