import cliProgress from 'cli-progress';
import { padToWidth } from './width.js';

/** A progress bar on stderr with rate and ETA; silent when stderr is not a terminal except for a final line. */
export function progressBar(label: string, unit: string) {
  const bar = new cliProgress.SingleBar(
    {
      format: `${padToWidth(label, 22)} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted}`,
      hideCursor: true,
      noTTYOutput: false,
      stream: process.stderr,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const startedAt = Date.now();
  let started = false;
  return {
    update(done: number, total: number) {
      const rate = Math.round(done / Math.max(0.001, (Date.now() - startedAt) / 1000));
      if (!started) {
        bar.start(total, done, { rate });
        started = true;
      }
      bar.setTotal(total);
      bar.update(done, { rate });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
