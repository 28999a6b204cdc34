//! Every statement the SQLite store runs, prepared against a freshly migrated database: a
//! statement that names a missing table or column, or does not parse, fails here before any
//! integration test runs.

use rusqlite::Connection;

use super::movies::{NameMatch, count_sql, listing_sql};
use super::{import, library, mail, migrate, movies, posters, seed, sessions};
use crate::domain::{MovieId, UserId};
use crate::store::records::{MovieCursor, MovieFilters, MovieQuery, MovieSort, SortKey};
use crate::store::sql;

fn migrated() -> Connection {
    let mut connection = Connection::open_in_memory().expect("an in-memory database");
    migrate::run(&mut connection).expect("the migrations apply");
    connection
}

/// The place after which a page of `sort` starts, for shapes with a cursor.
fn cursor_for(sort: MovieSort) -> MovieCursor {
    let key = match sort {
        MovieSort::Newest | MovieSort::Oldest => SortKey::Time,
        MovieSort::Title => SortKey::Title("heat".into()),
        MovieSort::Year => SortKey::Year(1995),
        MovieSort::Rating => SortKey::Rating(45, 3),
    };
    MovieCursor { key, created_at: crate::domain::now(), id: MovieId::generate() }
}

/// Every set of filters a listing or a count may have: each on or off.
pub(crate) fn listing_filters() -> Vec<MovieFilters> {
    let mut all = Vec::new();
    for (genre, director) in [(None, None), (Some("drama".to_owned()), None), (None, Some("michael mann".to_owned()))] {
        for cast in [None, Some("al pacino".to_owned())] {
            for name_contains in [None, Some("he".to_owned()), Some("heat".to_owned())] {
                for added_by in [None, Some(UserId::generate())] {
                    for (year_from, year_to) in [(None, None), (Some(1990), Some(1999))] {
                        all.push(MovieFilters {
                            genre: genre.clone(),
                            cast: cast.clone(),
                            director: director.clone(),
                            name_contains: name_contains.clone(),
                            added_by: added_by.clone(),
                            year_from,
                            year_to,
                        });
                    }
                }
            }
        }
    }
    all
}

/// Every shape a listing's SQL takes: each order, each filter on or off, with and without a
/// cursor.
pub(crate) fn listing_queries() -> Vec<MovieQuery> {
    let mut queries = Vec::new();
    for sort in MovieSort::ALL {
        for filters in listing_filters() {
            for after in [None, Some(cursor_for(sort))] {
                queries.push(MovieQuery { limit: 10, sort, after, filters: filters.clone() });
            }
        }
    }
    queries
}

#[test]
fn every_statement_prepares_against_the_migrated_schema() {
    let db = migrated();
    let own = [
        import::STATEMENTS,
        library::STATEMENTS,
        mail::STATEMENTS,
        movies::STATEMENTS,
        posters::STATEMENTS,
        seed::STATEMENTS,
        sessions::STATEMENTS,
    ];
    let statements: Vec<_> = sql::all().chain(own.into_iter().flatten().copied()).collect();
    assert!(statements.len() > 40, "only {} statements found", statements.len());
    for statement in statements {
        if let Err(error) = db.prepare(statement.sqlite()) {
            panic!("{error}\n in: {}", statement.sqlite());
        }
    }
    let one_movie = format!("({})", ["?"; crate::store::sql::movies::MOVIE_COLUMNS].join(", "));
    assert!(import::import_movies_sql(3).contains(&format!("VALUES {one_movie}, {one_movie}, (?")));
    db.prepare(&import::import_movies_sql(3)).expect("the import statement prepares");
}

#[test]
fn every_shape_of_the_listing_prepares_against_the_migrated_schema() {
    let db = migrated();
    for query in listing_queries() {
        for name_match in [NameMatch::Any, NameMatch::Scan, NameMatch::Window(5000), NameMatch::Trigram] {
            let built = listing_sql(&query, name_match);
            if let Err(error) = db.prepare(&built.text) {
                panic!("{error}\n in: {}", built.text);
            }
        }
    }
}

#[test]
fn every_count_that_no_kept_count_answers_prepares_against_the_migrated_schema() {
    let db = migrated();
    for filters in listing_filters() {
        let built = count_sql(&filters);
        if let Err(error) = db.prepare(&built.text) {
            panic!("{error}\n in: {}", built.text);
        }
    }
}

#[test]
fn every_order_of_the_catalogue_walks_an_index_and_never_sorts_the_catalogue() {
    let db = migrated();
    for sort in MovieSort::ALL {
        for after in [None, Some(cursor_for(sort))] {
            for added_by in [None, Some(UserId::generate())] {
                let query = MovieQuery {
                    limit: 100,
                    sort,
                    after: after.clone(),
                    filters: MovieFilters { added_by: added_by.clone(), ..MovieFilters::default() },
                };
                if added_by.is_some() && !matches!(sort, MovieSort::Newest | MovieSort::Oldest) {
                    continue;
                }
                let built = listing_sql(&query, NameMatch::Any);
                let mut statement = db.prepare(&format!("EXPLAIN QUERY PLAN {}", built.text)).unwrap();
                let count = statement.parameter_count();
                let steps: Vec<String> = statement
                    .query_map(rusqlite::params_from_iter(std::iter::repeat_n(rusqlite::types::Null, count)), |row| {
                        row.get(3)
                    })
                    .unwrap()
                    .collect::<rusqlite::Result<_>>()
                    .unwrap();
                let plan = steps.join("; ");
                assert!(!plan.contains("TEMP B-TREE"), "{sort:?} sorts instead of walking an index: {plan}");
                assert!(plan.contains("USING INDEX") || plan.contains("USING COVERING INDEX"), "{sort:?}: {plan}");
            }
        }
    }
}

#[test]
fn every_order_of_a_library_but_title_walks_an_index_of_the_users_entries() {
    use crate::store::LibrarySort;
    use crate::store::sql::library::page_statement;
    let db = migrated();
    for sort in [LibrarySort::Added, LibrarySort::WatchedOn, LibrarySort::Rating] {
        for after in [false, true] {
            let sql = page_statement(sort, after).sqlite();
            let mut statement = db.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let count = statement.parameter_count();
            let steps: Vec<String> = statement
                .query_map(rusqlite::params_from_iter(std::iter::repeat_n("x", count)), |row| row.get(3))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            let plan = steps.join("; ");
            assert!(!plan.contains("TEMP B-TREE"), "{sort:?} sorts instead of walking an index: {plan}");
            assert!(plan.contains("library_by_"), "{sort:?}: {plan}");
        }
    }
}
