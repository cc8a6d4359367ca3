import { useOutletContext } from 'react-router-dom'
import type { TeamMe } from '../features/session/types'

/** The signed-in user in their team, as AppLayout loaded it; only inside AppLayout's routes. */
export function useMe(): TeamMe {
  return useOutletContext<TeamMe>()
}
