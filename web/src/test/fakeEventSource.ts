import { act } from '@testing-library/react'
import { vi } from 'vitest'

/**
 * A stand-in for the browser's EventSource (jsdom has none): tests push server-sent events
 * into it with `emit`, and read which URLs were opened and whether they were closed.
 */
export class FakeEventSource {
  static readonly CONNECTING = 0
  static readonly OPEN = 1
  static readonly CLOSED = 2
  static instances: FakeEventSource[] = []

  readonly url: string
  readonly withCredentials: boolean
  readyState = FakeEventSource.CONNECTING
  onopen: ((event: Event) => void) | null = null
  onerror: ((event: Event) => void) | null = null
  onmessage: ((event: MessageEvent) => void) | null = null
  private listeners = new Map<string, Set<(event: MessageEvent) => void>>()

  constructor(url: string | URL, init?: { withCredentials?: boolean }) {
    this.url = String(url)
    this.withCredentials = Boolean(init?.withCredentials)
    FakeEventSource.instances.push(this)
  }

  addEventListener(type: string, listener: (event: MessageEvent) => void) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set())
    this.listeners.get(type)!.add(listener)
  }

  removeEventListener(type: string, listener: (event: MessageEvent) => void) {
    this.listeners.get(type)?.delete(listener)
  }

  close() {
    this.readyState = FakeEventSource.CLOSED
  }

  get closed(): boolean {
    return this.readyState === FakeEventSource.CLOSED
  }

  /** Delivers one event as the server would send it (`id:`, `event:`, `data:`). */
  emit(type: string, data: unknown, id?: string) {
    if (this.closed) throw new Error(`emit(${type}) on a closed EventSource`)
    act(() => {
      if (this.readyState !== FakeEventSource.OPEN) {
        this.readyState = FakeEventSource.OPEN
        this.onopen?.(new Event('open'))
      }
      const event = new MessageEvent(type, { data: JSON.stringify(data), lastEventId: id ?? '' })
      for (const listener of this.listeners.get(type) ?? []) listener(event)
    })
  }

  /** The connection failed; `gaveUp` is what the browser does on a non-stream answer (e.g. 401). */
  fail(gaveUp: boolean) {
    act(() => {
      this.readyState = gaveUp ? FakeEventSource.CLOSED : FakeEventSource.CONNECTING
      this.onerror?.(new Event('error'))
    })
  }

  /** The open streams for a URL ending with `path`. */
  static for(path: string): FakeEventSource[] {
    return FakeEventSource.instances.filter((source) => source.url.endsWith(path) && !source.closed)
  }
}

export function installFakeEventSource() {
  FakeEventSource.instances = []
  vi.stubGlobal('EventSource', FakeEventSource)
  return FakeEventSource
}

/** A stand-in IntersectionObserver: `intersect()` tells every observer its target is in view. */
export class FakeIntersectionObserver {
  static instances: FakeIntersectionObserver[] = []
  private targets: Element[] = []
  constructor(private callback: IntersectionObserverCallback) {
    FakeIntersectionObserver.instances.push(this)
  }
  observe(target: Element) {
    this.targets.push(target)
  }
  unobserve(target: Element) {
    this.targets = this.targets.filter((t) => t !== target)
  }
  disconnect() {
    this.targets = []
    FakeIntersectionObserver.instances = FakeIntersectionObserver.instances.filter((o) => o !== this)
  }
  takeRecords(): IntersectionObserverEntry[] {
    return []
  }
  static intersect() {
    act(() => {
      for (const observer of [...FakeIntersectionObserver.instances]) {
        const entries = observer.targets.map((target) => ({ target, isIntersecting: true }) as IntersectionObserverEntry)
        if (entries.length) observer.callback(entries, observer as unknown as IntersectionObserver)
      }
    })
  }
}

export function installFakeIntersectionObserver() {
  FakeIntersectionObserver.instances = []
  vi.stubGlobal('IntersectionObserver', FakeIntersectionObserver)
  return FakeIntersectionObserver
}
