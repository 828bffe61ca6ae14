// "x–y of N" with previous/next buttons, for server-paged lists.
import { formatCount } from '../format/text';

interface Props {
  offset: number;
  limit: number;
  total: number;
  onOffset: (offset: number) => void;
  testId: string;
}

export function pagerText(offset: number, shown: number, total: number): string {
  if (total === 0 || shown === 0) return `0 of ${formatCount(total)}`;
  return `${formatCount(offset + 1)}–${formatCount(offset + shown)} of ${formatCount(total)}`;
}

export function Pager({ offset, limit, total, onOffset, testId }: Props) {
  const shown = Math.max(0, Math.min(limit, total - offset));
  return (
    <div className="pager" data-testid={testId}>
      <button type="button" className="btn btn-small" disabled={offset <= 0} onClick={() => onOffset(Math.max(0, offset - limit))} data-testid={`${testId}-prev`}>
        ‹ Previous
      </button>
      <span className="pager-range" data-testid={`${testId}-range`}>
        {pagerText(offset, shown, total)}
      </span>
      <button type="button" className="btn btn-small" disabled={offset + limit >= total} onClick={() => onOffset(offset + limit)} data-testid={`${testId}-next`}>
        Next ›
      </button>
    </div>
  );
}
