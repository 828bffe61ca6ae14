// Last line of defence: a rendering bug shows a message instead of a blank page.
import { Component, type ErrorInfo, type ReactNode } from 'react';

interface State {
  error: Error | null;
}

export class ErrorBoundary extends Component<{ children: ReactNode }, State> {
  state: State = { error: null };

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error('BlastDeck UI error', error, info.componentStack);
  }

  render() {
    if (this.state.error) {
      return (
        <div className="alert alert-error" role="alert" data-testid="ui-error">
          <strong>Something went wrong in this page.</strong> {this.state.error.message}{' '}
          <button type="button" className="btn btn-small" onClick={() => this.setState({ error: null })}>
            Try again
          </button>
        </div>
      );
    }
    return this.props.children;
  }
}
