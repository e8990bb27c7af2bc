/** analyzer/audio: speech to text and spoken watch-list spotting. */
export { PocketsphinxTranscriber, parseKeywordHits, parseTimedWords, wordErrorRate, type Keyphrase, type KeywordHit, type Transcriber, type Transcript, type TranscriptWord } from './pocketsphinx.ts';
