// "x–y of N hits" with previous/next buttons, for server-paged lists.
import { formatCount, plural } from '../format/text';

interface Props {
  offset: number;
  limit: number;
  total: number;
  onOffset: (offset: number) => void;
  testId: string;
  /** What is counted, singular and plural: ['hit', 'hits']. */
  noun?: readonly [string, string];
}

export function pagerText(offset: number, shown: number, total: number, noun?: readonly [string, string]): string {
  const of = noun ? plural(total, noun[0], noun[1]) : formatCount(total);
  if (total === 0 || shown === 0) return `0 of ${of}`;
  return `${formatCount(offset + 1)}–${formatCount(offset + shown)} of ${of}`;
}

export function Pager({ offset, limit, total, onOffset, testId, noun }: Props) {
  const shown = Math.max(0, Math.min(limit, total - offset));
  return (
    <div className="pager" data-testid={testId}>
      <button type="button" className="btn btn-small" disabled={offset <= 0} onClick={() => onOffset(Math.max(0, offset - limit))} data-testid={`${testId}-prev`}>
        ‹ Previous
      </button>
      <span className="pager-range" data-testid={`${testId}-range`}>
        {pagerText(offset, shown, total, noun)}
      </span>
      <button type="button" className="btn btn-small" disabled={offset + limit >= total} onClick={() => onOffset(offset + limit)} data-testid={`${testId}-next`}>
        Next ›
      </button>
    </div>
  );
}
