// A worker actor: module state is the actor's state.
let seen = 0;
export default function score(signal: { token: string; confidence: number }) {
  seen++;
  return { token: signal.token, score: signal.confidence * 100, seen };
}
