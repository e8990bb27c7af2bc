/** analyzer/audio: speech to text, spoken watch-list spotting, findings with time spans, captions, WAV files. */
export {
  EN_US_DICTIONARY, KWS_PLP, KWS_THRESHOLD, MIN_PHONE_S, PocketsphinxTranscriber, normalisePhrase, parseKeywordHits, parseTimedWords, wordErrorRate,
  type Keyphrase, type KeywordHit, type Transcriber, type Transcript, type TranscriptWord,
} from './pocketsphinx.ts';
export { MAX_PHONE_DISTANCE, MIN_PHONETIC_PHONES, phoneticHits, phrasePhones, type PhoneticPhrase, type Pronunciations } from './phonetic.ts';
export { evidenceSpan, speechFindings, type FindingsInput } from './findings.ts';
export { captionCues, cuesSince, formatWebVtt, type CaptionChunk, type CaptionCue, type CaptionOptions } from './captions.ts';
export { encodeWav, readWavInfo, sliceWav, type WavInfo } from './wav.ts';
