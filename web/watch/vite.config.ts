/** Vite build of the viewer watch page, served by the API under /watch (web/vite.shared.ts). */
import { webApp } from '../vite.shared.ts';

export default webApp(import.meta.url, '/watch/');
