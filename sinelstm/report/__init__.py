"""Reading results for people: the markdown report, its tables and figures, and the science
(effects with intervals) that answers the article's questions."""
