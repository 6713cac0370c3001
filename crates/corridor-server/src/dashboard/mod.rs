//! The dashboard (`/`, `/dashboard/*`) and the observer tally page (`/observe`).
