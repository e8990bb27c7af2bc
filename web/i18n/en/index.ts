/** English text of the web apps: one module per app, plus what they share. Translations mirror this shape. */
import { common } from './common.ts';
import { studio } from './studio.ts';
import { watch } from './watch.ts';

export const en = { common, studio, watch };
