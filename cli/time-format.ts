/** How times are shown to people: exact UTC instants and short human durations. */

/** `2026-11-27 18:50:00 UTC`: exact, unambiguous, sortable. */
export function formatInstant(unixSeconds: number): string {
  return `${new Date(unixSeconds * 1000)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, '')} UTC`;
}

/** `45 s`, `4 min 5 s`, `23 h 59 min`, `3 d 2 h`: two units at most. */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return joinUnits(Math.floor(s / 60), 'min', s % 60, 's');
  if (s < 86400) return joinUnits(Math.floor(s / 3600), 'h', Math.floor((s % 3600) / 60), 'min');
  return joinUnits(Math.floor(s / 86400), 'd', Math.floor((s % 86400) / 3600), 'h');
}

function joinUnits(major: number, majorUnit: string, minor: number, minorUnit: string): string {
  return minor === 0 ? `${major} ${majorUnit}` : `${major} ${majorUnit} ${minor} ${minorUnit}`;
}

/** `in 23 h 59 min` / `2 h ago`. */
export function relativeTo(unixSeconds: number, nowSeconds: number): string {
  const delta = unixSeconds - nowSeconds;
  return delta >= 0 ? `in ${formatDuration(delta)}` : `${formatDuration(-delta)} ago`;
}

/** `4:05` for a spinner. */
export function formatClock(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
