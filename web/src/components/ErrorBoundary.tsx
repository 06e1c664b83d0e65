import { Component, type ReactNode } from 'react';
import { ErrorNote } from './ErrorNote';

/** A page that throws while rendering shows its error instead of a blank screen. */
export class ErrorBoundary extends Component<
  { children: ReactNode; resetKey?: string },
  { error?: unknown }
> {
  override state: { error?: unknown } = {};

  static getDerivedStateFromError(error: unknown) {
    return { error };
  }

  override componentDidUpdate(prev: { resetKey?: string }) {
    // Navigating elsewhere gives the next page a fresh start.
    if (prev.resetKey !== this.props.resetKey && this.state.error) this.setState({ error: undefined });
  }

  override render() {
    if (this.state.error) {
      return (
        <section>
          <h1>Something went wrong on this page</h1>
          <ErrorNote error={this.state.error} />
        </section>
      );
    }
    return this.props.children;
  }
}
