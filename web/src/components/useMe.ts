import { useOutletContext } from 'react-router-dom'
import type { Me } from '../features/session/types'

/** The signed-in user, as AppLayout loaded it; only inside AppLayout's routes. */
export function useMe(): Me {
  return useOutletContext<Me>()
}
