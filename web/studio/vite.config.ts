/** Vite build of the performer studio, served by the API under /studio (web/vite.shared.ts). */
import { webApp } from '../vite.shared.ts';

export default webApp(import.meta.url, '/studio/');
