/** `warden transcribe FILE [--keyphrase PHRASE]...`: JSON transcript of any file ffmpeg reads; offline. */
import { PocketsphinxTranscriber } from '../../analyzer/audio/index.ts';

export async function runTranscribeCommand(file: string, keyphrases: string[]): Promise<number> {
  const transcript = await new PocketsphinxTranscriber().transcribe(file, { keyphrases: keyphrases.map((phrase) => ({ phrase })) });
  process.stdout.write(`${JSON.stringify(transcript)}\n`);
  return 0;
}
