/** Types for snowball-stemmers (the package ships none). Only what elax uses; see languages.ts for the interop. */
declare module 'snowball-stemmers' {
  export function newStemmer(language: string): { stem(word: string): string };
  export function algorithms(): string[];
}
