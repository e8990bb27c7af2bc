// Starts bench/capacity-probe.ts in a worker thread: worker threads do not inherit tsx's loader, so it registers here.
import { register } from 'tsx/esm/api';

register();
await import('./capacity-probe.ts');
