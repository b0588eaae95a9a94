"""The load pipeline: discover → manifest → compatibility → dependencies → pipeline; hot reload beside it."""
