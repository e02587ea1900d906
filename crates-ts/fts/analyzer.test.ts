import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isElaxError } from '../core/index.js';
import { analyzerFor, asciiFold, normalizeFullTextConfig, tokenize, DEFAULT_FULL_TEXT_CONFIG } from './index.js';
import { splitWordsByRegex, splitWordsFor } from './analyzer.js';

const cfg = (over: Record<string, unknown> = {}) => normalizeFullTextConfig({ ...over }, 'text');

describe('normalizeFullTextConfig', () => {
  it('should fill the documented defaults from true and from a partial object', () => {
    expect(normalizeFullTextConfig(true, 'a')).toEqual({
      language: 'english', stemming: false, remove_stopwords: true, case_sensitive: false, ascii_folding: false,
      max_token_length: 39, tokenizer: 'word_v3', k1: 1.2, b: 0.75,
    });
    expect(normalizeFullTextConfig({ k1: 2, language: 'french' }, 'a')).toEqual({ ...DEFAULT_FULL_TEXT_CONFIG, k1: 2, language: 'french' });
  });

  it.each([
    [false, /must be true or an object/],
    [{ language: 'klingon' }, /language must be one of arabic, .*turkish; got 'klingon'/],
    [{ stemming: 'yes' }, /stemming must be a boolean/],
    [{ max_token_length: 0 }, /max_token_length must be an integer between 1 and 254/],
    [{ max_token_length: 255 }, /between 1 and 254/],
    [{ tokenizer: 'word_v9' }, /tokenizer must be one of/],
    [{ k1: -1 }, /k1 must be a finite number >= 0/],
    [{ b: 1.5 }, /b must be a number between 0 and 1/],
    [{ stemming: true, language: 'greek' }, /stemming is not supported yet for language 'greek'/],
    [{ colour: 'blue' }, /unknown option 'colour'/],
  ])('should reject %j with a 400 naming the attribute', (raw, re) => {
    try {
      normalizeFullTextConfig(raw, 'title');
      throw new Error('expected a rejection');
    } catch (e) {
      expect(isElaxError(e, 'ELAX_ERR_INVALID_REQUEST')).toBe(true);
      expect((e as Error).message).toContain("attribute 'title'");
      expect((e as Error).message).toMatch(re);
    }
  });
});

describe('tokenize', () => {
  it('should split on non-alphanumerics, lowercase and drop English stop words', () => {
    expect(tokenize('The quick-brown FOX, isn’t it? 42 x²', cfg())).toEqual(['quick', 'brown', 'fox', 'isn', 't', '42', 'x²']);
  });

  it('should keep case and stop words when configured', () => {
    expect(tokenize('The Fox', cfg({ case_sensitive: true, remove_stopwords: false }))).toEqual(['The', 'Fox']);
    expect(tokenize('The Fox', cfg({ case_sensitive: true }))).toEqual(['Fox']); // stop words match case-insensitively
  });

  it('should drop tokens longer than max_token_length UTF-8 bytes', () => {
    const c = cfg({ max_token_length: 4 });
    expect(tokenize('abcd abcde éé ééé', c)).toEqual(['abcd', 'éé']); // é is 2 bytes
  });

  it('should fold to ASCII only when asked, leaving other scripts alone', () => {
    expect(tokenize('Crème Brûlée Straße', cfg())).toEqual(['crème', 'brûlée', 'straße']);
    expect(tokenize('Crème Brûlée Straße Ærø ﬁne', cfg({ ascii_folding: true }))).toEqual(['creme', 'brulee', 'strasse', 'aero', 'fine']);
    expect(asciiFold('Москва')).toBe('Москва');
    expect(asciiFold('naïve café')).toBe('naive cafe');
  });

  it('should stem with the language Snowball stemmer', () => {
    expect(tokenize('running runners connected', cfg({ stemming: true }))).toEqual(['run', 'runner', 'connect']);
    expect(tokenize('les chevaux mangeaient', cfg({ stemming: true, language: 'french' }))).toEqual(['cheval', 'mang']);
  });

  it('should use the language stop-word list', () => {
    expect(tokenize('der Hund und die Katze', cfg({ language: 'german' }))).toEqual(['hund', 'katze']);
  });

  it('should treat ideographs as single tokens (word_v2+) but not in word_v1, and emoji per tokenizer', () => {
    expect(tokenize('東京タワー 👍🏽 🇯🇵', cfg())).toEqual(['東', '京', 'タワー', '👍🏽', '🇯🇵']);
    expect(tokenize('東京タワー 👍', cfg({ tokenizer: 'word_v1' }))).toEqual(['東京タワー', '👍']);
    expect(tokenize('東京 👍', cfg({ tokenizer: 'word_v0' }))).toEqual(['東京']);
  });

  it('should analyse []string values element by element and pass pre-tokenized arrays through', () => {
    expect(tokenize(['Hello world', 'the END'], cfg())).toEqual(['hello', 'world', 'end']);
    expect(tokenize(['New York', 'the'], cfg({ tokenizer: 'pre_tokenized_array' }))).toEqual(['New York', 'the']);
  });

  it('should be idempotent on its own output for non-stemming configs', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.boolean(), fc.boolean(), (s, fold, cs) => {
        const c = cfg({ ascii_folding: fold, case_sensitive: cs });
        const once = tokenize(s, c);
        expect(tokenize(once.join(' '), c)).toEqual(once);
      }),
    );
  });
});

describe('analyzer.query', () => {
  it('should keep repeated terms and split off an unstemmed prefix with last_as_prefix', () => {
    const a = analyzerFor(cfg({ stemming: true }));
    expect(a.query('fox fox', false)).toEqual({ terms: ['fox', 'fox'], prefix: null });
    expect(a.query('running qui', true)).toEqual({ terms: ['run'], prefix: 'qui' });
    expect(a.query('the an', true)).toEqual({ terms: [], prefix: 'an' }); // a prefix is never a stop word
    expect(a.query(['Big', 'dat'], true)).toEqual({ terms: ['big'], prefix: 'dat' });
  });
});

describe('ASCII splitting', () => {
  const TOKENIZERS = ['word_v0', 'word_v1', 'word_v2', 'word_v3', 'word_v4'];

  it('should split every ASCII code point, alone and between letters, as the tokenizer expressions do', () => {
    for (const tok of TOKENIZERS) {
      for (let c = 0; c < 128; c++) {
        const ch = String.fromCharCode(c);
        for (const t of [ch, `a${ch}b`, `${ch}${ch}x9${ch}`]) expect(splitWordsFor(t, tok)).toEqual(splitWordsByRegex(t, tok));
      }
    }
  });

  it('should split random ASCII texts, and texts with non-ASCII code points, as the expressions do', () => {
    const ascii = fc.string({ unit: fc.integer({ min: 0, max: 127 }).map((c) => String.fromCharCode(c)), maxLength: 60 });
    const mixed = fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', '-', '#', '*', 'é', '中', '文', '👍', '🇫', '🇷', '\u200D', '️', '½', '٣', '©'), maxLength: 30 });
    fc.assert(
      fc.property(fc.oneof(ascii, mixed), fc.constantFrom(...TOKENIZERS), (text, tok) => {
        expect(splitWordsFor(text, tok)).toEqual(splitWordsByRegex(text, tok));
      }),
      { numRuns: 2000 },
    );
  });
});
