//! Least-squares line through (round, bytes) points: how fast metaspace grows per round.
//!
//! A leaking job adds roughly the same amount of metaspace every round (its classes stay
//! loaded), so the slope of a straight line fitted over the rounds' post-GC figures is the
//! growth per round, and its coefficient of determination says how steady that growth is.

use serde::{Deserialize, Serialize};

/// `y = intercept + slope * x`, fitted by ordinary least squares.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LinearFit {
    /// Growth per unit of `x` (bytes per round).
    pub slope: f64,
    /// Value of the line at `x = 0`.
    pub intercept: f64,
    /// Coefficient of determination, 0..=1; 1 when every point is on the line (including a
    /// perfectly flat series).
    pub r2: f64,
    /// Number of points fitted.
    pub points: usize,
}

impl LinearFit {
    /// Fits a line through `points`. `None` with fewer than two points or when every `x` is
    /// the same (the slope is undefined).
    pub fn fit(points: &[(f64, f64)]) -> Option<LinearFit> {
        let n = points.len();
        if n < 2 {
            return None;
        }
        let nf = n as f64;
        let mean_x = points.iter().map(|p| p.0).sum::<f64>() / nf;
        let mean_y = points.iter().map(|p| p.1).sum::<f64>() / nf;
        let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
        for &(x, y) in points {
            let (dx, dy) = (x - mean_x, y - mean_y);
            sxx += dx * dx;
            sxy += dx * dy;
            syy += dy * dy;
        }
        if sxx == 0.0 {
            return None;
        }
        let slope = sxy / sxx;
        let intercept = mean_y - slope * mean_x;
        let r2 = if syy == 0.0 { 1.0 } else { (sxy * sxy) / (sxx * syy) };
        Some(LinearFit {
            slope,
            intercept,
            r2,
            points: n,
        })
    }

    /// Fits a line through `ys` at `x = first_x, first_x + 1, …` (rounds numbered from one).
    pub fn over_rounds(first_x: u32, ys: &[u64]) -> Option<LinearFit> {
        let pts: Vec<(f64, f64)> = ys
            .iter()
            .enumerate()
            .map(|(i, &y)| (f64::from(first_x) + i as f64, y as f64))
            .collect();
        Self::fit(&pts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_line_is_recovered() {
        let f = LinearFit::over_rounds(1, &[1000, 1500, 2000, 2500]).unwrap();
        assert!((f.slope - 500.0).abs() < 1e-9);
        assert!((f.intercept - 500.0).abs() < 1e-9);
        assert!((f.r2 - 1.0).abs() < 1e-12);
        assert_eq!(f.points, 4);
    }

    #[test]
    fn flat_series_has_zero_slope() {
        let f = LinearFit::over_rounds(1, &[7, 7, 7]).unwrap();
        assert_eq!(f.slope, 0.0);
        assert_eq!(f.intercept, 7.0);
        assert_eq!(f.r2, 1.0);
    }

    #[test]
    fn noisy_series_matches_hand_computation() {
        // x = 1..4, y = 2, 4, 5, 4: mean x 2.5, mean y 3.75, sxy = 3.5, sxx = 5, syy = 4.75.
        let f = LinearFit::over_rounds(1, &[2, 4, 5, 4]).unwrap();
        assert!((f.slope - 0.7).abs() < 1e-12);
        assert!((f.intercept - 2.0).abs() < 1e-12);
        assert!((f.r2 - 3.5 * 3.5 / (5.0 * 4.75)).abs() < 1e-12);
    }

    #[test]
    fn too_few_points_or_degenerate_x_give_none() {
        assert!(LinearFit::over_rounds(1, &[]).is_none());
        assert!(LinearFit::over_rounds(1, &[5]).is_none());
        assert!(LinearFit::fit(&[(1.0, 2.0), (1.0, 3.0)]).is_none());
    }
}
