// Shown while the server can't be reached; the data below it is the last we had.
export function LivePausedBanner({ show, what = 'Live updates' }: { show: boolean; what?: string }) {
  if (!show) return null;
  return (
    <div className="alert alert-warning" role="status" data-testid="live-paused">
      <strong>{what} paused</strong> — the server is not answering. Showing the last known data; retrying automatically.
    </div>
  );
}
